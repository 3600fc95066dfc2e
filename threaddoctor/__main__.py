from threaddoctor.entry import main

main()
