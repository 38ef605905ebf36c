from livedesk.cli import main

main()
