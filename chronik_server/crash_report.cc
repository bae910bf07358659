#include "chronik_server/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "absl/debugging/symbolize.h"

namespace chronik::server {
namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

// Only what is async-signal-safe: write(2) of text formatted here, no allocation, no stdio.
void Write(const char* s) {
  for (size_t n = std::strlen(s); n > 0;) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void WriteHex(uintptr_t v) {
  char buf[2 + 2 * sizeof v + 1];
  char* p = buf + sizeof buf - 1;
  *p = '\0';
  do {
    *--p = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  } while (v != 0);
  *--p = 'x';
  *--p = '0';
  Write(p);
}

void WriteDecimal(unsigned v) {
  char buf[16];
  char* p = buf + sizeof buf - 1;
  *p = '\0';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  Write(p);
}

void OnFatalSignal(int sig, siginfo_t* info, void*) {
  char thread[17] = {};
  ::prctl(PR_GET_NAME, thread, 0, 0, 0);
  Write("chronik_server: fatal signal ");
  WriteDecimal(static_cast<unsigned>(sig));
  Write(" (");
  const char* name = sigabbrev_np(sig);
  Write(name != nullptr ? name : "?");
  Write(") at address ");
  WriteHex(reinterpret_cast<uintptr_t>(info->si_addr));
  Write(" in thread ");
  Write(thread);
  Write("\n");
  // libgcc's unwinder, which reads the signal frame's unwind tables and so goes on past it into
  // the code that took the signal (absl's frame-pointer walk stops there).
  void* frames[64];
  const int depth = ::backtrace(frames, 64);
  for (int i = 1; i < depth; ++i) {
    char symbol[512];
    Write("  #");
    WriteDecimal(static_cast<unsigned>(i));
    Write(" ");
    WriteHex(reinterpret_cast<uintptr_t>(frames[i]));
    Write(" ");
    // The return address is past the call; the call's own address symbolizes its line.
    Write(absl::Symbolize(static_cast<char*>(frames[i]) - 1, symbol, sizeof symbol) ? symbol : "?");
    Write("\n");
  }
  // SA_RESETHAND has put the default action back: the signal, raised again on return or now,
  // ends the process as it would have without this report (a core, if the system keeps them).
  ::raise(sig);
}

}  // namespace

void InstallCrashReport(const char* argv0) {
  absl::InitializeSymbolizer(argv0);
  // backtrace(3) loads libgcc_s at its first call, which allocates: done here, not in the handler.
  void* warm[1];
  (void)::backtrace(warm, 1);
  // A stack of its own for the report, so that it is written after a stack overflow too (for the
  // thread that installs it; other threads' overflows die without a report).
  static char alternate[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alternate;
  ss.ss_size = sizeof alternate;
  (void)::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = OnFatalSignal;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) (void)::sigaction(sig, &sa, nullptr);
}

}  // namespace chronik::server
