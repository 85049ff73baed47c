from fairhub.cli import main

main()
