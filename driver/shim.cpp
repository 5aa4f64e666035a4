// shim.cpp: placeholder.
