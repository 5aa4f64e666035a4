/* headers_c.c: every header under driver/ and pixelfuncs/ compiles alone
 * from a C file.
 *
 * tests/driver.cmake compiles this file once per header, with PVRT_HEADER
 * naming it, as a C11 object that is part of the build: a header that needs
 * another include first, uses C++ syntax or lacks its include guard breaks
 * the build. Its C++ twin is headers_cpp.cpp. */
#ifndef PVRT_HEADER
#error "PVRT_HEADER must name the header under test"
#endif

#include PVRT_HEADER
#include PVRT_HEADER /* twice: the include guard must hold */

/* A TU must declare something (ISO C); one symbol per compiled header. */
int pvrt_header_compiled_from_c(void);
int pvrt_header_compiled_from_c(void)
{
    return 1;
}
