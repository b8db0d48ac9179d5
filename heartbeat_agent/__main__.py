import sys

from heartbeat_agent.agent import main

sys.exit(main())
