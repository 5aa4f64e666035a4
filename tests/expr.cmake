# pvrt_expr: the expression engine layer by layer, its errors and limits,
# a differential test against an independent evaluator, the vrt-examples.
pvrt_add_gtest(test_expr SOURCES test_expr.cpp
               LIBS pvrt_pixelfuncs LABELS quick badinput TIMEOUT 300)
# The cache shared by threads and the small-stack parse, for the TSan run.
add_test(NAME test_expr_concurrency
         COMMAND test_expr --gtest_filter=ExprCache.*:ExprStack.*)
set_tests_properties(test_expr_concurrency PROPERTIES
                     ENVIRONMENT "${PVRT_TEST_ENV}" TIMEOUT 120
                     LABELS "concurrency")
pvrt_add_gtest(test_expr_diff SOURCES test_expr_diff.cpp
               LIBS pvrt_pixelfuncs LABELS quick TIMEOUT 300)
pvrt_add_gtest(test_expr_examples SOURCES test_expr_examples.cpp
               LIBS pvrt_pixelfuncs LABELS quick TIMEOUT 300)

# libFuzzer target for parse + compile + verify (clang only).
if(PVRT_FUZZ)
  add_executable(fuzz_expr fuzz/fuzz_expr.c
                 ${PROJECT_SOURCE_DIR}/pixelfuncs/expr/lexer.c
                 ${PROJECT_SOURCE_DIR}/pixelfuncs/expr/parser.c
                 ${PROJECT_SOURCE_DIR}/pixelfuncs/expr/compile.c
                 ${PROJECT_SOURCE_DIR}/pixelfuncs/expr/verify.c
                 ${PROJECT_SOURCE_DIR}/pixelfuncs/expr/vm.c
                 ${PROJECT_SOURCE_DIR}/pixelfuncs/expr/disasm.c)
  target_include_directories(fuzz_expr PRIVATE ${PROJECT_SOURCE_DIR}/pixelfuncs/expr)
  target_compile_options(fuzz_expr PRIVATE -fsanitize=fuzzer,address,undefined
                         -fno-sanitize-recover=all)
  target_link_options(fuzz_expr PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_expr PRIVATE m)
  add_test(NAME fuzz_expr_corpus
           COMMAND fuzz_expr -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus_expr)
  set_tests_properties(fuzz_expr_corpus PROPERTIES LABELS "fuzz" TIMEOUT 300)
endif()
