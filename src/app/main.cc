// The `ryuryo` command: server and client subcommands (see `ryuryo --help`).
#include "app/cli.h"

int main(int argc, char** argv) { return ryuryo::app::RunCli(argc, argv); }
