/*
 * main.c - the `bouncecheck` program: the CLI's commands (src/cli/) and
 * the server's `serve` (src/server/), put together here, above both
 * layers, so that neither includes the other's headers the wrong way
 * (docs/architecture.md).
 */
#include "cli.h"
#include "server.h"

int main(int argc, char **argv)
{
    static const cli_command server_commands[] = {
        { "serve", cmd_serve, cli_help_serve_text, cli_help_serve_text2 },
    };
    return cli_main(argc, argv, server_commands, sizeof server_commands / sizeof server_commands[0]);
}
