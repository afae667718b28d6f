from samtycke.cli import main

raise SystemExit(main())
