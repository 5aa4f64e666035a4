// headers_cpp.cpp: every header under driver/ and pixelfuncs/ compiles
// alone from a C++ file.
//
// tests/driver.cmake compiles this file once per header, with PVRT_HEADER
// naming it, as a C++17 object that is part of the build: the header's C
// declarations must be wrapped in extern "C" where they are C functions,
// and must not use C-only syntax. Its C twin is headers_c.c.
#ifndef PVRT_HEADER
#error "PVRT_HEADER must name the header under test"
#endif

#include PVRT_HEADER
#include PVRT_HEADER // twice: the include guard must hold

int pvrt_header_compiled_from_cpp();
int pvrt_header_compiled_from_cpp()
{
    return 1;
}
