from werkpilot_tui.cli import main

raise SystemExit(main())
