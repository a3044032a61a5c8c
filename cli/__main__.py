"""neutone: the command-line client for internal users, talking gRPC straight to
the services.

It holds no service's key: it signs in (or uses NEUTONE_API_KEY) and exchanges
that credential for short-lived identity tokens through UserService's public
CreateIdentityToken, like any internal client. Every command takes --json and
then prints one JSON document; errors go to stderr with exit status 1."""

import argparse
import os
import sys

import grpc

from cli.client import Client
from cli.commands import account, billing, edits, songs
from cli.errors import CliError, Failure
from cli.output import Output
from cli.parsing import Commands, with_common_options
from cli.settings import CliSettings

# What a shell reports for a command ended by Ctrl-C.
INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="neutone",
        description=__doc__.split("\n\n")[0],
        epilog="Services: NEUTONE_USERSVC_ADDRESS, NEUTONE_SONGSVC_ADDRESS,"
        " NEUTONE_BILLINGSVC_ADDRESS. Credentials: `neutone signin`"
        " (NEUTONE_CLI_SESSION_FILE) or NEUTONE_API_KEY.",
    )
    commands = Commands(root, with_common_options())
    for module in (account, songs, edits, billing):
        module.register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Output(as_json=args.json)
    client = Client(CliSettings())
    try:
        args.run(client, out, args)
    except grpc.RpcError as error:
        out.failure(Failure.from_rpc_error(error))
        return 1
    except BrokenPipeError:
        # The reader went away (`neutone list | head -1`); as Python's documentation
        # advises, stdout goes to devnull so that the exit's flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (CliError, OSError) as error:
        out.failure(Failure(message=str(error)))
        return 1
    except KeyboardInterrupt:
        return INTERRUPTED
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
