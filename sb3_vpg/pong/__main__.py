from sb3_vpg.pong.cli import main

main()
