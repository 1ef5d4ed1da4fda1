/*
 * smtp_rules.c - how BounceCheck reads an SMTP reply: the data.
 *
 * Two tables, both read by smtp_classify.c and by nothing else:
 *
 *  1. bc_reply_phrases: phrases, each tagged with the kind of evidence it is
 *     (the mailbox does not exist, the account is disabled, the text speaks
 *     of the sender, of our client, of rates, of content, ...). A reply's text
 *     is folded first (lower case, accents removed, Cyrillic lower-cased,
 *     white space collapsed), so every phrase here is written folded. A phrase
 *     matches on word boundaries; a trailing '*' makes it a prefix ("greylist*"
 *     matches "greylisted"); a leading '~' matches anywhere, for scripts that
 *     do not put spaces between words (Chinese, Japanese).
 *
 *  2. bc_reply_rules: the rules, read top to bottom, the first that holds
 *     decides. Each has a name (shown to users as `smtp.rule`), the replies it
 *     applies to (4xx, 421, 5xx; an enhanced status code; a provider), the
 *     evidence it needs and the evidence that must be absent, and the class it
 *     gives. Each carries a comment with the source of the reading.
 *
 * The principle (issue 17): only evidence about the mailbox makes a mailbox
 * verdict. Replies about the sender, our client (IP, PTR, HELO, reputation,
 * blocklists), rates and volumes, content, authentication, TLS, relaying or
 * the server's own trouble are never "the mailbox does not exist", whatever
 * their code says: when code and text disagree, text that speaks of the
 * client, the sender, rates or content wins over a mailbox code. A 5xx with
 * no evidence either way says nothing about the mailbox.
 *
 * Sources named below:
 *   RFC 3463 / RFC 5248 (enhanced status codes and their registry), RFC 5321
 *   4.2 (reply codes and their default texts), RFC 7372 (authentication
 *   codes x.7.20-x.7.29), RFC 7505 (x.1.10 null MX); Google Workspace "SMTP
 *   errors and codes" (support.google.com/a/answer/3726730); Microsoft "Email
 *   non-delivery reports and SMTP errors in Exchange Online"
 *   (learn.microsoft.com); Yahoo Sender Hub "SMTP error codes"
 *   (senders.yahooinc.com/smtp-error-codes); Apple "iCloud Mail server error
 *   codes" (support.apple.com/102322); the default reply texts of Postfix
 *   (postconf(5), access(5)), Exim (its ACL and router messages), Sendmail
 *   and qmail; Mimecast, Proofpoint, Barracuda and Cisco ESA error
 *   documentation.
 */
#include <stddef.h>

#include "smtp/smtp_rules.h"

#define P(text, fam) { text, BC_RF_##fam }

const bc_reply_phrase bc_reply_phrases[] = {
    /* ---- the mailbox does not exist ------------------------------------ */
    /* English: Postfix "User unknown in ... table", Exim "No Such User Here",
     * "Unrouteable address", Sendmail "User unknown", qmail "no mailbox here
     * by that name", Gmail "The email account that you tried to reach does
     * not exist", Microsoft "RecipientNotFound", Yahoo "This user doesn't
     * have a yahoo.com account", iCloud "user does not exist". */
    P("user unknown", MBX), P("unknown user", MBX), P("unknown recipient", MBX),
    P("recipient unknown", MBX), P("addressee unknown", MBX), P("unknown address", MBX),
    P("address unknown", MBX), P("unknown mailbox", MBX), P("mailbox unknown", MBX),
    P("unknown account", MBX), P("account unknown", MBX), P("unknown local part", MBX),
    P("unknown local-part", MBX), P("unknown or illegal", MBX), P("unknown email address", MBX),
    P("unknown e-mail address", MBX), P("no such user", MBX), P("no such recipient", MBX),
    P("no such mailbox", MBX), P("no such address", MBX), P("no such account", MBX),
    P("no such person", MBX), P("no such local user", MBX), P("no such email", MBX),
    P("no mailbox", MBX), P("no mail box", MBX), P("mailbox does not exist", MBX),
    P("does not exist", MBX), P("doesn't exist", MBX), P("dosn't exist", MBX),
    P("do not exist", MBX), P("not exist", MBX), P("not exists", MBX), P("non-existent", MBX),
    P("nonexistent", MBX), P("non existent", MBX), P("inexistent", MBX),
    P("no longer exists", MBX), P("no longer valid", MBX), P("no longer available", MBX),
    P("no longer in use", MBX), P("no longer used", MBX), P("user not found", MBX),
    P("recipient not found", MBX), P("mailbox not found", MBX), P("address not found", MBX),
    P("account not found", MBX), P("not found in directory", MBX), P("user not known", MBX),
    P("invalid recipient", MBX), P("invalid mailbox", MBX), P("invalid user", MBX),
    P("invalid address", MBX), P("invalid account", MBX), P("invalid email address", MBX),
    P("invalid e-mail address", MBX), P("not a valid mailbox", MBX), P("not a valid user", MBX),
    P("not a valid recipient", MBX), P("not a valid address", MBX), P("not a known user", MBX),
    P("bad destination mailbox", MBX), P("bad recipient", MBX), P("unrouteable address", MBX),
    P("unroutable address", MBX), P("user doesn't have", MBX), P("user does not have", MBX),
    P("recipnotfound", MBX), P("recipientnotfound", MBX), P("resolver.adr.recip*", MBX),
    P("no account", MBX), P("account does not exist", MBX), P("no such domain", MBX),
    P("is not a valid", MBX), P("undeliverable address", MBX), P("mailbox is unknown", MBX),
    P("user is unknown", MBX), P("recipient is unknown", MBX),
    P("address does not exist", MBX), P("not listed in", MBX), P("not our user", MBX),
    P("unable to find the recipient", MBX), P("adress unknown", MBX), P("unknown adress", MBX),
    P("invalid adress", MBX), P("marked as invalid", MBX), P("email address is invalid", MBX),
    P("fully-qualified address", MBX),
    P("user invalid", MBX), P("recipient invalid", MBX), P("mailbox invalid", MBX),
    P("address invalid", MBX), P("account invalid", MBX), P("no user", MBX),
    P("user doesn't exist", MBX), P("has been deleted", MBX), P("mailbox deleted", MBX),
    P("account deleted", MBX), P("account has been deleted", MBX), P("account was deleted", MBX),
    P("no such mail drop", MBX), P("does no exist*", MBX), P("no exists", MBX),
    P("bad address", MBX), P("not a member", MBX), P("recipient cannot be verified", MBX),
    P("mailbox name not allowed", MBX), P("user not local", MBX), P("unavailable user", MBX_WEAK),
    P("user unavailable", MBX_WEAK), P("unavailable mail user", MBX_WEAK), P("not a recognized", MBX), P("recipient does not exist", MBX),
    P("mailbox not available", MBX_WEAK),
    /* French */
    P("utilisateur inconnu", MBX), P("destinataire inconnu", MBX), P("adresse inconnue", MBX),
    P("boite inconnue", MBX), P("boite aux lettres inconnue", MBX), P("compte inconnu", MBX),
    P("n'existe pas", MBX), P("n existe pas", MBX), P("n'existe plus", MBX), P("inexistant*", MBX),
    P("utilisateur introuvable", MBX), P("destinataire introuvable", MBX), P("adresse introuvable", MBX),
    P("adresse invalide", MBX), P("destinataire invalide", MBX), P("aucun utilisateur", MBX),
    P("pas de boite", MBX), P("aucune boite", MBX),
    /* German */
    P("benutzer unbekannt", MBX), P("unbekannter benutzer", MBX), P("empfanger unbekannt", MBX),
    P("empfaenger unbekannt", MBX), P("unbekannter empfanger", MBX), P("unbekannter empfaenger", MBX),
    P("adresse unbekannt", MBX), P("unbekannte adresse", MBX), P("existiert nicht", MBX),
    P("existiert nicht mehr", MBX), P("gibt es nicht", MBX), P("kein postfach", MBX),
    P("postfach nicht gefunden", MBX), P("nicht vorhanden", MBX), P("ungultige empfanger*", MBX),
    P("ungueltige empfaenger*", MBX), P("ungultiger empfanger", MBX), P("ungultige adresse", MBX),
    P("unbekanntes postfach", MBX), P("postfach unbekannt", MBX), P("nutzer unbekannt", MBX),
    /* Spanish */
    P("usuario desconocido", MBX), P("destinatario desconocido", MBX), P("direccion desconocida", MBX),
    P("no existe", MBX), P("usuario inexistente", MBX), P("buzon inexistente", MBX),
    P("cuenta inexistente", MBX), P("direccion inexistente", MBX), P("usuario no encontrado", MBX),
    P("destinatario no encontrado", MBX), P("buzon no encontrado", MBX), P("direccion no valida", MBX),
    P("destinatario no valido", MBX), P("usuario no valido", MBX),
    /* Italian */
    P("utente sconosciuto", MBX), P("destinatario sconosciuto", MBX), P("indirizzo sconosciuto", MBX),
    P("utente inesistente", MBX), P("indirizzo inesistente", MBX), P("casella inesistente", MBX),
    P("destinatario inesistente", MBX), P("non esiste", MBX), P("utente non trovato", MBX),
    P("casella non trovata", MBX), P("indirizzo non valido", MBX), P("destinatario non valido", MBX),
    P("utente non valido", MBX),
    /* Portuguese */
    P("usuario desconhecido", MBX), P("utilizador desconhecido", MBX), P("destinatario desconhecido", MBX),
    P("endereco desconhecido", MBX), P("nao existe", MBX), P("usuario inexistente", MBX),
    P("conta inexistente", MBX), P("endereco inexistente", MBX), P("caixa postal inexistente", MBX),
    P("usuario nao encontrado", MBX), P("destinatario nao encontrado", MBX), P("conta nao encontrada", MBX),
    P("endereco invalido", MBX), P("destinatario invalido", MBX),
    /* Russian (folded: lower case, ё as е) */
    P("пользователь не найден", MBX), P("нет такого пользователя", MBX), P("нет такого адреса", MBX),
    P("нет такого ящика", MBX), P("не существует", MBX), P("несуществующ*", MBX),
    P("неизвестный пользователь", MBX), P("неизвестный получатель", MBX), P("адрес не найден", MBX),
    P("ящик не найден", MBX), P("получатель не найден", MBX), P("адресат не найден", MBX),
    P("неверный адрес получателя", MBX), P("пользователь не существует", MBX),
    /* Chinese and Japanese */
    P("~用户不存在", MBX), P("~收件人不存在", MBX), P("~帐户不存在", MBX), P("~账户不存在", MBX),
    P("~帐号不存在", MBX), P("~账号不存在", MBX), P("~邮箱不存在", MBX), P("~信箱不存在", MBX),
    P("~地址不存在", MBX), P("~无此用户", MBX), P("~没有这个用户", MBX), P("~查无此人", MBX),
    P("~用户名不存在", MBX), P("~收信人不存在", MBX), P("~使用者不存在", MBX), P("~該用戶不存在", MBX),
    P("~用戶不存在", MBX), P("~帳號不存在", MBX), P("~存在しません", MBX), P("~存在しない", MBX),
    P("~宛先不明", MBX), P("~不明なユーザ", MBX), P("~ユーザが見つかりません", MBX),
    P("~ユーザーが見つかりません", MBX), P("~該当するユーザ", MBX), P("~該当ユーザ", MBX),
    P("~アドレスが見つかりません", MBX),

    /* ---- words that point at the mailbox but that policy rejections use
     * too (RFC 5321's default text of 550 among them) -------------------- */
    P("mailbox unavailable", MBX_WEAK), P("mailbox is unavailable", MBX_WEAK),
    P("not our customer", MBX_WEAK), P("boite aux lettres indisponible", MBX_WEAK),
    P("postfach nicht verfugbar", MBX_WEAK), P("buzon no disponible", MBX_WEAK),
    P("casella non disponibile", MBX_WEAK), P("caixa postal indisponivel", MBX_WEAK),
    P("ящик недоступен", MBX_WEAK),

    /* ---- "recipient rejected" and the like name no cause: mailbox evidence
     * only beside an x.1 code ("550 #5.1.0 Address rejected", Cisco) ----- */
    P("recipient rejected", MBX_HINT), P("recipient address rejected", MBX_HINT),
    P("address rejected", MBX_HINT), P("rcpt rejected", MBX_HINT), P("recipient not allowed", MBX_HINT),
    P("recipient address", MBX_HINT),

    /* ---- one of two readings, one of them not about the mailbox --------- */
    P("or access denied", EITHER), P("or access denined", EITHER), P("or access", EITHER),
    P("or denied", EITHER), P("or blocked", EITHER), P("or rejected", EITHER),
    P("or the message", EITHER), P("or your", EITHER), P("or is not", EITHER), P("may not exist", EITHER),
    P("might not exist", EITHER),

    /* ---- the account exists but is disabled, inactive, suspended or
     * blocked (Gmail 5.2.1 DisabledUser, Yahoo "This mailbox is disabled
     * (554.30)", Orange "Le compte du destinataire est bloque") ----------- */
    P("disabled", DISABLED), P("inactive", DISABLED), P("suspended", DISABLED),
    P("deactivated", DISABLED), P("discontinued", DISABLED), P("account closed", DISABLED),
    P("account has been closed", DISABLED), P("account is closed", DISABLED),
    P("mailbox closed", DISABLED), P("account expired", DISABLED), P("account has expired", DISABLED),
    P("not active", DISABLED), P("no longer active", DISABLED), P("account locked", DISABLED),
    P("account is locked", DISABLED), P("account blocked", DISABLED), P("account is blocked", DISABLED),
    P("account has been blocked", DISABLED), P("mailbox blocked", DISABLED),
    P("mailbox is blocked", DISABLED), P("mailbox has been blocked", DISABLED),
    P("recipient account is blocked", DISABLED), P("user account is blocked", DISABLED),
    P("account frozen", DISABLED), P("frozen", DISABLED), P("archived", DISABLED),
    P("archivee", DISABLED), P("archive", DISABLED), P("not activated", DISABLED), P("inactivated", DISABLED),
    P("is locked", DISABLED), P("account is frozen", DISABLED), P("mailbox frozen", DISABLED),
    P("compte desactive", DISABLED), P("compte bloque", DISABLED), P("compte suspendu", DISABLED),
    P("compte du destinataire est bloque", DISABLED), P("est bloque", DISABLED),
    P("compte ferme", DISABLED), P("boite desactivee", DISABLED), P("boite bloquee", DISABLED),
    P("deaktiviert", DISABLED), P("konto gesperrt", DISABLED), P("postfach gesperrt", DISABLED),
    P("account gesperrt", DISABLED), P("stillgelegt", DISABLED), P("cuenta desactivada", DISABLED),
    P("cuenta deshabilitada", DISABLED), P("cuenta suspendida", DISABLED), P("cuenta bloqueada", DISABLED),
    P("buzon desactivado", DISABLED), P("account disattivato", DISABLED), P("casella disattivata", DISABLED),
    P("utente disabilitato", DISABLED), P("account sospeso", DISABLED), P("casella sospesa", DISABLED),
    P("casella bloccata", DISABLED), P("conta desativada", DISABLED), P("conta suspensa", DISABLED),
    P("conta bloqueada", DISABLED), P("caixa desativada", DISABLED), P("ящик заблокирован", DISABLED),
    P("аккаунт заблокирован", DISABLED), P("учетная запись заблокирована", DISABLED),
    P("отключен*", DISABLED), P("ящик удален", DISABLED), P("~已被冻结", DISABLED),
    P("~已冻结", DISABLED), P("~被冻结", DISABLED), P("~已停用", DISABLED), P("~被停用", DISABLED),
    P("~已禁用", DISABLED), P("~被禁用", DISABLED), P("~已注销", DISABLED), P("~停止されています", DISABLED),
    P("~利用停止", DISABLED), P("~無効", DISABLED),

    /* ---- the mailbox is full ------------------------------------------- */
    P("over quota", FULL), P("overquota", FULL), P("quota exceeded", FULL), P("exceeded quota", FULL),
    P("exceeds quota", FULL), P("quota*", FULL), P("mailbox full", FULL), P("mailbox is full", FULL),
    P("mail box full", FULL), P("mailbox has exceeded", FULL), P("mailbox size limit", FULL),
    P("inbox is full", FULL), P("inbox full", FULL), P("is full", FULL), P("full mailbox", FULL),
    P("storage full", FULL), P("storage space", FULL), P("speichervolumen", FULL),
    P("too many messages on the server", FULL), P("zu viele mails", FULL), P("zuviele mails", FULL), P("insufficient storage", FULL), P("out of storage", FULL),
    P("exceeded storage", FULL), P("exceeds storage", FULL), P("storage allocation", FULL),
    P("boite pleine", FULL), P("boite aux lettres pleine", FULL), P("est pleine", FULL),
    P("postfach voll", FULL), P("postfach ist voll", FULL), P("speicherplatz", FULL),
    P("buzon lleno", FULL), P("buzon esta lleno", FULL), P("cuota", FULL), P("casella piena", FULL),
    P("casella e piena", FULL), P("spazio esaurito", FULL), P("caixa cheia", FULL),
    P("caixa postal cheia", FULL), P("cota excedida", FULL), P("переполнен*", FULL),
    P("превышена квота", FULL), P("~已满", FULL), P("~空间不足", FULL), P("~容量不足", FULL),
    P("~超过容量", FULL), P("~容量超過", FULL), P("~満杯", FULL), P("~容量が", FULL),

    /* ---- about our MAIL FROM address, its domain or its authentication
     * (RFC 7372 x.7.20-27: SPF, DKIM, DMARC; Gmail 5.7.26 unauthenticated;
     * Postfix "Sender address rejected"; Exim "Sender verify failed") ----- */
    P("sender address", SENDER), P("sender rejected", SENDER), P("sender denied", SENDER),
    P("sender verify", SENDER), P("sender verification", SENDER), P("sender domain", SENDER),
    P("sender's domain", SENDER), P("sender's spf", SENDER), P("sender's", SENDER),
    P("sender is", SENDER), P("sender not", SENDER), P("sender unknown", SENDER),
    P("unknown sender", SENDER), P("invalid sender", SENDER), P("bad sender", SENDER),
    P("sender blocked", SENDER), P("sender blacklisted", SENDER), P("mailfrom", SENDER),
    P("sender email", SENDER), P("sender e-mail", SENDER), P("sender mail", SENDER), P("emetteur", SENDER),
    P("domain of sender", SENDER), P("sending domain", SENDER), P("from domain", SENDER),
    P("from address", SENDER), P("from header", SENDER), P("header from", SENDER),
    P("envelope sender", SENDER), P("envelope from", SENDER),
    P("return path", SENDER), P("return-path", SENDER), P("spf", SENDER), P("dkim", SENDER),
    P("dmarc", SENDER), P("unauthenticated", SENDER), P("sender account", SENDER), P("sending denied", SENDER),
    P("forgery", SENDER), P("forged", SENDER),
    P("authentication check", SENDER), P("authentication checks", SENDER),
    P("fails to pass", SENDER), P("your domain", SENDER), P("your account", SENDER),
    P("your email address", SENDER), P("originator", SENDER), P("expediteur", SENDER),
    P("absender", SENDER), P("remitente", SENDER), P("mittente", SENDER), P("remetente", SENDER),
    P("отправител*", SENDER), P("~发件人", SENDER), P("~發件人", SENDER), P("~发信人", SENDER),
    P("~送信者", SENDER), P("~差出人", SENDER),

    /* ---- rates and volumes (Gmail 4.2.1/5.2.1 "receiving mail at a rate
     * that prevents additional messages", 5.4.5 "Daily SMTP relay limit
     * exceeded", 4.5.3 "Too many recipients", Microsoft 4.7.500 "Server
     * busy", Yahoo TS01/TS02 "deferred due to unexpected volume") --------- */
    P("rate limit*", RATE), P("rate-limit*", RATE), P("ratelimit*", RATE), P("rate exceeded", RATE),
    P("at a rate", RATE), P("sending rate", RATE), P("message rate", RATE), P("connection rate", RATE),
    P("too many recipients", RATE), P("too many rcpt", RATE), P("too many messages", RATE),
    P("too many mails", RATE), P("too many emails", RATE), P("too many connections", RATE),
    P("too many concurrent", RATE), P("too many sessions", RATE), P("too many simultaneous", RATE),
    P("too many invalid", RATE), P("too many errors", RATE), P("too many requests", RATE),
    P("too many", RATE), P("recipient limit", RATE), P("recipients limit", RATE),
    P("maximum recipients", RATE), P("max recipients", RATE), P("maximum number of", RATE),
    P("exceeded the maximum", RATE), P("exceeds the maximum", RATE), P("exceeded its", RATE),
    P("daily limit", RATE), P("hourly limit", RATE), P("sending limit", RATE), P("send limit", RATE),
    P("relay limit", RATE), P("submission quota", RATE), P("sending limit exceeded", RATE),
    P("message limit", RATE), P("connection limit", RATE), P("sending quota", RATE), P("daily quota", RATE), P("hourly quota", RATE),
    P("message quota", RATE), P("recipient quota", RATE), P("per hour", RATE), P("this hour", RATE),
    P("per day", RATE), P("rate too high", RATE), P("too fast", RATE), P("too quickly", RATE),
    P("excessive volume", RATE), P("per connection", RATE), P("per session", RATE), P("max number of", RATE),
    P("max message*", RATE),
    P("too frequent*", RATE), P("frequency", RATE), P("rp:*", RATE), P("per minute", RATE), P("unexpected volume", RATE), P("high volume", RATE),
    P("volume of", RATE), P("throttl*", RATE), P("slow down", RATE), P("server busy", RATE),
    P("trop de", RATE), P("zu viele", RATE), P("demasiados", RATE), P("troppi", RATE),
    P("troppe", RATE), P("muitos", RATE), P("слишком много", RATE), P("превышен лимит", RATE),
    P("~太多", RATE), P("~过多", RATE), P("~過多", RATE), P("~频率", RATE), P("~頻率", RATE),
    P("~过快", RATE), P("~頻度", RATE), P("~上限", RATE), P("~超过限制", RATE),

    /* ---- our client: its IP, name, reputation, blocklists (Spamhaus,
     * Barracuda, Proofpoint, Microsoft S3150/5.7.606-649, Gmail 4.7.28,
     * Yahoo BL21/TSS04, Postfix reject_rbl_client / reject_unknown_client) */
    P("spamhaus", CLIENT), P("spamcop", CLIENT), P("barracuda*", CLIENT), P("sorbs", CLIENT),
    P("uceprotect*", CLIENT), P("abuseat", CLIENT), P("mailspike", CLIENT), P("psbl", CLIENT),
    P("invaluement", CLIENT), P("senderscore", CLIENT), P("spamrats", CLIENT), P("cbl", CLIENT),
    P("dnsbl*", CLIENT), P("rbl*", CLIENT), P("blocklist*", CLIENT), P("block list*", CLIENT),
    P("blacklist*", CLIENT), P("black list*", CLIENT), P("denylist*", CLIENT), P("deny list*", CLIENT),
    P("blocked using", CLIENT), P("blocked by", CLIENT), P("listed at", CLIENT), P("listed in", CLIENT),
    P("listed on", CLIENT), P("listed by", CLIENT), P("is listed", CLIENT), P("reputation", CLIENT),
    P("reverse dns", CLIENT), P("reverse hostname", CLIENT), P("reverse lookup", CLIENT),
    P("reverse-dns", CLIENT), P("rdns", CLIENT), P("ptr", CLIENT), P("fcrdns", CLIENT),
    P("client host", CLIENT), P("client ip", CLIENT), P("client address", CLIENT),
    P("cannot find your hostname", CLIENT), P("your hostname", CLIENT),
    P("helo", CLIENT), P("ehlo", CLIENT), P("not allowed to connect", CLIENT),
    P("your ip", CLIENT), P("your host", CLIENT), P("your server", CLIENT), P("your network", CLIENT),
    P("your mail server", CLIENT), P("ip address", CLIENT), P("ip addresses", CLIENT), P("ip", CLIENT),
    P("sending ip", CLIENT), P("connecting ip", CLIENT), P("dynamic", CLIENT),
    P("dial-up", CLIENT), P("dialup", CLIENT), P("residential", CLIENT), P("dsl", CLIENT),
    P("not accepted from", CLIENT), P("connection refused", CLIENT), P("connections will not be accepted", CLIENT),
    P("connection rejected", CLIENT), P("access denied, banned", CLIENT), P("banned sending", CLIENT),
    P("poor reputation", CLIENT),
    P("traffic", CLIENT),
    /* Yahoo's codes for its blocks of an IP (senders.yahooinc.com/smtp-error-codes) and 163.com's
     * HL (high volume from the IP) */
    P("ts0*", CLIENT), P("tss*", CLIENT), P("bl2*", CLIENT), P("hl:*", CLIENT),
    /* AOL's codes (postmaster.info.aol.com/errors): dynamic IP, relays, high volume */
    P("dyn:*", CLIENT), P("rly:*", CLIENT), P("hvu:*", CLIENT), P("s3140", CLIENT), P("s3150", CLIENT), P("s3114", CLIENT), P("s3115", CLIENT),
    P("sender.office.com", CLIENT), P("ipcheck.proofpoint.com", CLIENT),
    P("adresse ip", CLIENT), P("ip-adresse", CLIENT), P("direccion ip", CLIENT), P("indirizzo ip", CLIENT),
    P("endereco ip", CLIENT), P("черный список", CLIENT), P("черном списке", CLIENT),
    P("~黑名单", CLIENT), P("~黑名單", CLIENT), P("~ブラックリスト", CLIENT),

    /* ---- bare block words: the server refuses, without saying why ------- */
    P("blocked", BLOCK), P("block", BLOCK), P("banned", BLOCK), P("blacklisted", CLIENT),
    P("denied", BLOCK), P("refused", BLOCK), P("bloque", BLOCK), P("bloqueado", BLOCK),
    P("gesperrt", BLOCK), P("bloccato", BLOCK), P("заблокирован*", BLOCK), P("~拒绝", BLOCK),
    P("~拒絶", BLOCK),

    /* ---- content (at RCPT we sent none: the server judges us by it) ---- */
    P("spam*", CONTENT), P("unsolicited", CONTENT), P("bulk mail", CONTENT), P("larger than", CONTENT), P("dt:*", CONTENT), P("junk", CONTENT), P("virus", CONTENT), P("malware", CONTENT),
    P("phishing", CONTENT), P("content", CONTENT), P("message content", CONTENT),
    P("attachment", CONTENT), P("8-bit", CONTENT), P("8bit", CONTENT), P("8 bit", CONTENT),
    P("message size", CONTENT), P("too big", CONTENT), P("too large", CONTENT),
    P("size exceeds", CONTENT), P("exceeds size", CONTENT), P("message is too", CONTENT),
    P("mime", CONTENT), P("pourriel", CONTENT), P("indesirable", CONTENT), P("no deseado", CONTENT),
    P("indesiderat*", CONTENT), P("спам", CONTENT), P("~垃圾邮件", CONTENT), P("~垃圾郵件", CONTENT),
    P("~迷惑メール", CONTENT),

    /* ---- authentication and TLS (530 5.7.0 Must issue a STARTTLS command
     * first; 530 5.7.1 Authentication required; RFC 3207, RFC 4954) ------- */
    P("starttls", AUTH), P("tls", AUTH), P("ssl", AUTH), P("encryption", AUTH), P("encrypted", AUTH),
    P("authentication required", AUTH), P("not authenticated", AUTH), P("authentication is required", AUTH),
    P("must authenticate", AUTH), P("auth required", AUTH), P("smtp auth", AUTH),
    P("requiretls", AUTH), P("secure connection", AUTH),

    /* ---- relaying: this server does not take mail for that domain from us
     * (Postfix "Relay access denied", qmail "not in my list of allowed
     * rcpthosts", Sendmail "Relaying denied") ----------------------------- */
    P("relay access denied", RELAY), P("relaying denied", RELAY), P("relay denied", RELAY),
    P("relay not permitted", RELAY), P("relaying not permitted", RELAY),
    P("not permitted to relay", RELAY), P("unable to relay", RELAY), P("relay not allowed", RELAY),
    P("relaying not allowed", RELAY), P("not allowed to relay", RELAY), P("we do not relay", RELAY),
    P("relaying disallowed", RELAY), P("relay prohibited", RELAY), P("relaying prohibited", RELAY),
    P("allowed rcpthosts", RELAY), P("not a gateway", RELAY), P("relay access is denied", RELAY),
    P("no relay", RELAY), P("cannot relay", RELAY), P("can't relay", RELAY),
    P("relais", RELAY), P("relaying disabled", RELAY),
    P("relay disabled", RELAY),

    /* ---- a policy, without mailbox evidence ---------------------------- */
    P("policy", POLICY), P("policies", POLICY), P("prohibited", POLICY), P("not permitted", POLICY),
    P("not allowed", POLICY), P("not authorized", POLICY), P("unauthorized", POLICY),
    P("access denied", POLICY), P("administrative prohibition", POLICY), P("forbidden", POLICY),
    P("rejected by", POLICY), P("rule", POLICY), P("rules", POLICY), P("filter*", POLICY),
    P("firewall", POLICY), P("envelope blocked", POLICY), P("restricted", POLICY),
    P("restriction*", POLICY), P("politique", POLICY), P("richtlinie*", POLICY), P("politica", POLICY),
    P("политик*", POLICY), P("~策略", POLICY),

    /* ---- the server's own trouble (RFC 3463 x.3.x and x.4.x; Exchange
     * "5.3.5 Internal System Error"; Postfix "Temporary lookup failure") - */
    P("internal error", SERVER), P("internal system error", SERVER), P("internal server error", SERVER),
    P("system error", SERVER), P("server error", SERVER), P("local error", SERVER),
    P("error in processing", SERVER), P("processing error", SERVER), P("lookup failure", SERVER),
    P("lookup failed", SERVER), P("configuration error", SERVER), P("config error", SERVER),
    P("misconfigur*", SERVER), P("not configured", SERVER), P("system storage", SERVER),
    P("disk space", SERVER), P("disk full", SERVER), P("out of memory", SERVER),
    P("resources", SERVER), P("resource", SERVER), P("unable to process", SERVER),
    P("database", SERVER), P("i/o error", SERVER), P("ldap", SERVER), P("mail loop", SERVER), P("routing loop", SERVER),
    P("hop count", SERVER), P("loop detected", SERVER), P("timeout", SERVER), P("timed out", SERVER),
    P("temporary failure", SERVER), P("temporary error", SERVER), P("server failure", SERVER),
    P("service unavailable", SERVER), P("temporarily unavailable", SERVER), P("queue", SERVER),
    P("maintenance", SERVER), P("shutting down", SERVER), P("exception", SERVER),
    P("storedrv", SERVER), P("erreur interne", SERVER), P("interner fehler", SERVER),
    P("error interno", SERVER), P("errore interno", SERVER), P("erro interno", SERVER),
    P("внутренняя ошибка", SERVER), P("~系统错误", SERVER), P("~内部错误", SERVER),
    P("~システムエラー", SERVER),

    /* ---- greylisting named as such, and "come back later" -------------- */
    P("greylist*", GREY), P("graylist*", GREY), P("grey list*", GREY), P("gray list*", GREY),
    P("grey-list*", GREY), P("gray-list*", GREY), P("postgrey", GREY), P("grey listing", GREY),
    P("greylisting", GREY),
    P("try again later", LATER), P("try later", LATER), P("please try again", LATER),
    P("retry later", LATER), P("try again in", LATER), P("please retry", LATER),
    P("come back later", LATER), P("deferred", LATER), P("temporarily rejected", LATER),
    P("temporarily deferred", LATER), P("resend later", LATER), P("not yet authorized", LATER),
    P("retry timeout", LATER), P("try again", LATER), P("reessayez", LATER),
    P("spater erneut", LATER), P("mas tarde", LATER), P("piu tardi", LATER), P("mais tarde", LATER),
    P("повторите попытку", LATER), P("~稍后", LATER), P("~しばらく", LATER),

    { NULL, 0 },
};

/* Shorthands for the rule table. */
#define C4 BC_RC_4XX
#define C421 BC_RC_421
#define C5 BC_RC_5XX
#define ANY_ -1
#define NONE_ BC_ENH_NONE
#define F(x) BC_RF_##x
#define NOT_MAILBOX (F(SENDER) | F(RATE) | F(CLIENT) | F(CONTENT) | F(AUTH) | F(RELAY) | F(SERVER))

const bc_reply_rule bc_reply_rules[] = {
    /* ================= 2xx, 1xx, 3xx are handled before the table ======= */

    /* ================= 421: the server closes the session =============== */
    { "421.greylisting", C421, ANY_, ANY_, F(GREY), 0, BC_SMTP_GREYLISTED },
    /* Gmail "421 4.7.26 This mail has been rate limited because it is
     * unauthenticated": the cause named is the sender */
    { "421.sender", C421, ANY_, ANY_, F(SENDER), 0, BC_SMTP_SENDER_REJECTED },
    /* Gmail "421 4.7.28 ... unusual rate of unsolicited mail originating
     * from your IP address", Yahoo "[TSS04] Messages from 192.0.2.1
     * temporarily deferred": a block of our client, whatever its cause */
    { "421.client", C421, ANY_, ANY_, F(CLIENT), 0, BC_SMTP_BLOCKED },
    /* "421 4.7.0 mx Error: too many errors" (Postfix) */
    /* Gmail "421 4.7.0 TLS required for RCPT domain", "421 4.7.29 ...
     * rate limited because this message wasn't sent over a TLS connection" */
    { "421.policy", C421, ANY_, ANY_, F(AUTH) | F(CONTENT) | F(RELAY), 0, BC_SMTP_POLICY_REJECTED },
    { "421.rate", C421, ANY_, ANY_, F(RATE), 0, BC_SMTP_RATE_LIMITED },
    { "421.server.enhanced_system", C421, 3, ANY_, 0, 0, BC_SMTP_SERVER_ERROR },
    { "421.server", C421, ANY_, ANY_, F(SERVER), 0, BC_SMTP_SERVER_ERROR },
    { "421.closing", C421, ANY_, ANY_, 0, 0, BC_SMTP_SERVICE_UNAVAILABLE },

    /* ================= 4xx: temporary, never a permanent class ========== */
    /* postgrey "Greylisted, see http://postgrey..." and friends */
    { "4xx.greylisting", C4, ANY_, ANY_, F(GREY), 0, BC_SMTP_GREYLISTED },
    /* RFC 3463 x.1.7 / x.1.8: the sender's mailbox address */
    { "4xx.sender.enhanced", C4, 1, 7, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "4xx.sender.enhanced_domain", C4, 1, 8, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "4xx.sender", C4, ANY_, ANY_, F(SENDER), 0, BC_SMTP_SENDER_REJECTED },
    { "4xx.client", C4, ANY_, ANY_, F(CLIENT), 0, BC_SMTP_BLOCKED },
    /* "454 4.7.1 Relay access denied", "454 4.7.0 TLS not available due to
     * local problem": a policy, for now */
    { "4xx.policy", C4, ANY_, ANY_, F(CONTENT) | F(AUTH) | F(RELAY), 0, BC_SMTP_POLICY_REJECTED },
    /* RFC 3463 x.5.3: too many recipients */
    { "4xx.too_many_recipients", C4, 5, 3, 0, 0, BC_SMTP_RATE_LIMITED },
    { "4xx.rate", C4, ANY_, ANY_, F(RATE), 0, BC_SMTP_RATE_LIMITED },
    /* RFC 3463 x.2.2 mailbox full; "452 4.2.2 The email account that you
     * tried to reach is over quota" (Gmail) */
    { "4xx.mailbox_full.enhanced", C4, 2, 2, 0, 0, BC_SMTP_MAILBOX_FULL },
    /* RFC 3463 x.3.x mail system status ("452 4.3.1 Insufficient system
     * storage" is the server's disk, not the mailbox) */
    { "4xx.server.enhanced_system", C4, 3, ANY_, 0, F(LATER), BC_SMTP_SERVER_ERROR },
    { "4xx.mailbox_full", C4, ANY_, ANY_, F(FULL), F(SERVER), BC_SMTP_MAILBOX_FULL },
    { "4xx.server", C4, ANY_, ANY_, F(SERVER), 0, BC_SMTP_SERVER_ERROR },
    { "4xx.policy.words", C4, ANY_, ANY_, F(POLICY) | F(BLOCK), F(LATER), BC_SMTP_POLICY_REJECTED },
    /* "Try again later" on a code greylisters use (none, x.0.0, x.2.0,
     * x.3.0, x.7.0, x.7.1) or a bare 450/451 */
    { "4xx.later.none", C4, NONE_, ANY_, F(LATER), 0, BC_SMTP_GREYLISTED },
    { "4xx.later.x00", C4, 0, 0, F(LATER), 0, BC_SMTP_GREYLISTED },
    { "4xx.later.x20", C4, 2, 0, F(LATER), 0, BC_SMTP_GREYLISTED },
    { "4xx.later.x30", C4, 3, 0, F(LATER), 0, BC_SMTP_GREYLISTED },
    { "4xx.later.x70", C4, 7, 0, F(LATER), 0, BC_SMTP_GREYLISTED },
    { "4xx.later.x71", C4, 7, 1, F(LATER), 0, BC_SMTP_GREYLISTED },
    { "4xx.450_451.plain", C4 | BC_RC_450_451_ONLY, NONE_, ANY_, 0, F(MBX) | F(DISABLED), BC_SMTP_GREYLISTED },
    { "4xx.other", C4, ANY_, ANY_, 0, 0, BC_SMTP_TEMPFAIL },

    /* ================= 5xx: what the text speaks of comes first ========== */
    /* The sender: RFC 3463 x.1.7 bad sender's mailbox address syntax, x.1.8
     * bad sender's system address; RFC 7372 x.7.20-x.7.24, x.7.26, x.7.27
     * (DKIM, SPF, multiple authentication checks, sender null MX) */
    { "5xx.sender.enhanced", C5, 1, 7, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.enhanced_domain", C5, 1, 8, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.dkim", C5, 7, 20, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.dkim_author", C5, 7, 21, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.dkim_identity", C5, 7, 22, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.spf_fail", C5, 7, 23, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.spf_error", C5, 7, 24, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.auth_checks", C5, 7, 26, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender.null_mx", C5, 7, 27, 0, 0, BC_SMTP_SENDER_REJECTED },
    { "5xx.sender", C5, ANY_, ANY_, F(SENDER), 0, BC_SMTP_SENDER_REJECTED },
    /* Relaying denied: the server does not take mail for that domain from
     * us (Postfix "Relay access denied", Exchange 5.7.54 "Unable to relay
     * recipient in non-accepted domain") */
    { "5xx.relay", C5, ANY_, ANY_, F(RELAY), 0, BC_SMTP_POLICY_REJECTED },
    /* "552 5.2.2 The email account that you tried to reach is over quota
     * and inactive" (Gmail OverQuotaPerm): code and text agree it is full;
     * unless the text is about our sending quota or a message's size */
    { "5xx.mailbox_full.x22_text", C5, 2, 2, F(FULL), F(RATE) | F(CONTENT), BC_SMTP_MAILBOX_FULL },
    /* A disabled account, in words that name the account or mailbox
     * ("The recipient account is blocked"), before the block words */
    { "5xx.mailbox_disabled.text", C5, ANY_, ANY_, F(DISABLED),
      F(CLIENT) | F(CONTENT) | F(RELAY) | F(AUTH) | F(EITHER), BC_SMTP_MAILBOX_DISABLED },
    /* Our client: RFC 7372 x.7.25 reverse DNS validation failed; any IP,
     * PTR, HELO, reputation or blocklist text; a block of our IP for its
     * volume is a block too ("This IP has been blocked for too many invalid
     * recipients") */
    { "5xx.client.reverse_dns", C5, 7, 25, 0, 0, BC_SMTP_BLOCKED },
    { "5xx.client", C5, ANY_, ANY_, F(CLIENT), 0, BC_SMTP_BLOCKED },
    /* Rates: RFC 3463 x.5.3 too many recipients; any rate or volume text,
     * also under a mailbox code ("550 5.1.1 ... has sent to too many
     * recipients this hour"; Gmail "550 5.4.5 Daily SMTP relay limit") */
    { "5xx.too_many_recipients", C5, 5, 3, 0, 0, BC_SMTP_RATE_LIMITED },
    { "5xx.rate", C5, ANY_, ANY_, F(RATE), 0, BC_SMTP_RATE_LIMITED },
    /* "Mailbox not found or access denied": one of two readings, one of
     * them not about the mailbox - no firm evidence */
    { "5xx.either_or", C5, ANY_, ANY_, F(EITHER), 0, BC_SMTP_REJECTED_OTHER },
    /* Content (RFC 3463 x.6.x media, x.3.4 / x.2.3 size) */
    { "5xx.content.enhanced_media", C5, 6, ANY_, 0, F(MBX), BC_SMTP_POLICY_REJECTED },
    { "5xx.content.enhanced_size", C5, 3, 4, 0, 0, BC_SMTP_POLICY_REJECTED },
    { "5xx.content.enhanced_size_mailbox", C5, 2, 3, 0, 0, BC_SMTP_POLICY_REJECTED },
    { "5xx.content", C5, ANY_, ANY_, F(CONTENT), F(MBX), BC_SMTP_POLICY_REJECTED },
    /* Authentication or TLS required (RFC 3463 x.7.8-x.7.12, RFC 3207) */
    { "5xx.auth", C5, ANY_, ANY_, F(AUTH), F(MBX), BC_SMTP_POLICY_REJECTED },
    /* The server's own trouble, unless it also names the mailbox ("553
     * 5.3.0 ... No such user" is Sendmail's user unknown) */
    { "5xx.server", C5, ANY_, ANY_, F(SERVER), F(MBX) | F(DISABLED) | F(FULL), BC_SMTP_SERVER_ERROR },
    { "5xx.server.enhanced_system", C5, 3, ANY_, 0,
      F(MBX) | F(MBX_WEAK) | F(MBX_HINT) | F(DISABLED) | F(FULL), BC_SMTP_SERVER_ERROR },
    /* Bare block words ("550 blocked", "554 denied") */
    { "5xx.blocked", C5, ANY_, ANY_, F(BLOCK), F(MBX), BC_SMTP_BLOCKED },
    /* A policy without mailbox evidence ("550 5.7.1 Recipient address
     * rejected: Access denied" from a Postfix access map) */
    { "5xx.policy", C5, ANY_, ANY_, F(POLICY), F(MBX), BC_SMTP_POLICY_REJECTED },
    /* A permanent code whose text says "try again later" and names no
     * mailbox firmly: it contradicts itself */
    { "5xx.later", C5, ANY_, ANY_, F(LATER), F(MBX) | F(DISABLED) | F(FULL), BC_SMTP_REJECTED_OTHER },
    /* "552 5.1.1 Boite du destinataire pleine. Recipient overquota."
     * (Orange): the text says full, whatever the code */
    { "5xx.mailbox_full.text_over_code", C5, ANY_, ANY_, F(FULL), F(MBX) | F(DISABLED),
      BC_SMTP_MAILBOX_FULL },

    /* ================= 5xx: the mailbox ================================ */
    /* RFC 3463: x.1.1 bad destination mailbox address, x.1.2 bad
     * destination system address, x.1.3 bad destination mailbox address
     * syntax, x.1.6 destination mailbox has moved, RFC 7505 x.1.10
     * recipient address has null MX */
    { "5xx.mailbox.x11", C5, 1, 1, 0, 0, BC_SMTP_REJECTED_MAILBOX },
    { "5xx.mailbox.x12", C5, 1, 2, 0, 0, BC_SMTP_REJECTED_MAILBOX },
    { "5xx.mailbox.x13", C5, 1, 3, 0, 0, BC_SMTP_REJECTED_MAILBOX },
    { "5xx.mailbox.x16", C5, 1, 6, 0, 0, BC_SMTP_REJECTED_MAILBOX },
    { "5xx.mailbox.x110", C5, 1, 10, 0, 0, BC_SMTP_REJECTED_MAILBOX },
    /* RFC 3463 x.2.1 mailbox disabled; RFC 5248 x.7.13 user account
     * disabled; x.2.2 mailbox full; x.7.17 mailbox owner has changed */
    { "5xx.mailbox_disabled.x21", C5, 2, 1, 0, 0, BC_SMTP_MAILBOX_DISABLED },
    { "5xx.mailbox_disabled.x713", C5, 7, 13, 0, 0, BC_SMTP_MAILBOX_DISABLED },
    { "5xx.mailbox_full.x22", C5, 2, 2, 0, 0, BC_SMTP_MAILBOX_FULL },
    { "5xx.mailbox.x717", C5, 7, 17, 0, 0, BC_SMTP_REJECTED_MAILBOX },
    /* The text names the mailbox's absence, whatever the enhanced code */
    { "5xx.mailbox.text", C5, ANY_, ANY_, F(MBX), 0, BC_SMTP_REJECTED_MAILBOX },
    /* x.1.0 (other address status) counts with mailbox words: Cisco's "550
     * #5.1.0 Address rejected" for a recipient its directory lacks */
    { "5xx.mailbox.x10_weak", C5, 1, 0, F(MBX_WEAK) | F(MBX_HINT), 0, BC_SMTP_REJECTED_MAILBOX },
    /* "550 Requested action not taken: mailbox unavailable" (RFC 5321's
     * default text): mailbox words, no policy word, and no x.7 (security or
     * policy) code */
    { "5xx.mailbox.weak_none", C5, NONE_, ANY_, F(MBX_WEAK), 0, BC_SMTP_REJECTED_MAILBOX },
    { "5xx.mailbox.weak_x0", C5, 0, ANY_, F(MBX_WEAK), 0, BC_SMTP_REJECTED_MAILBOX },
    { "5xx.mailbox.weak_x5", C5, 5, ANY_, F(MBX_WEAK), 0, BC_SMTP_REJECTED_MAILBOX },
    { "5xx.mailbox.weak_x1", C5, 1, ANY_, F(MBX_WEAK) | F(MBX_HINT), 0, BC_SMTP_REJECTED_MAILBOX },

    /* ================= 5xx: no evidence either way ====================== */
    /* "550 Recipient rejected" alone names no cause */
    { "5xx.policy.enhanced", C5, 7, ANY_, 0, 0, BC_SMTP_POLICY_REJECTED },
    { "5xx.unclear", C5, ANY_, ANY_, 0, 0, BC_SMTP_REJECTED_OTHER },

    { NULL, 0, 0, 0, 0, 0, 0 },
};
