#error \
    "a header for callers includes LibTorch (torch/torch.h): move the tensor-typed declarations to an internal header (tests/headers)"
