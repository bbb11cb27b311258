from cnn_tui.cli import main

raise SystemExit(main())
