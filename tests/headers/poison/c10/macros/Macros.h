#error \
    "a header for callers includes LibTorch (c10/ATen): move the tensor-typed declarations to an internal header (tests/headers)"
