#pragma once

namespace chronik::server {

// On a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) writes the signal, the thread's
// name and its stack, symbolized, to stderr, and then dies of the signal as it would have: a
// broker that crashes says where in its log, which is all a test or an operator has of it.
void InstallCrashReport(const char* argv0);

}  // namespace chronik::server
