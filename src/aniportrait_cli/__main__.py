from aniportrait_cli.cli.app import main

main()
