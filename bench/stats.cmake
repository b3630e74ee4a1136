# DeLong AUC + CI on 1,000,000 scores, compared with R pROC by bench/stats_bench.sh.
# Included from bench/CMakeLists.txt.
add_executable(stats_bench ${CMAKE_CURRENT_LIST_DIR}/stats_bench.cc)
target_link_libraries(stats_bench PRIVATE scintigen_stats scintigen_core)
target_compile_options(stats_bench PRIVATE -O3)
