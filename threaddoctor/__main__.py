from threaddoctor.cli import main

main()
