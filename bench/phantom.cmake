# Simulator throughput: two-view scans per second at 256x1024, all threads, with a naive
# (non-separable blur) baseline in the same run. Included from bench/CMakeLists.txt.
add_executable(phantom_bench ${CMAKE_CURRENT_LIST_DIR}/phantom_bench.cc)
target_link_libraries(phantom_bench PRIVATE scintigen_phantom scintigen_core Threads::Threads)
target_compile_options(phantom_bench PRIVATE -O3)
