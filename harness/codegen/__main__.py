"""`python -m harness.codegen MODEL.tflite --out DIR`."""

import sys

from harness.codegen import main

sys.exit(main())
