#include "core/base/fault_guard.h"

#include <setjmp.h>
#include <signal.h>

#include <mutex>

#include "core/base/crc32.h"

namespace npzfs::core {
namespace {

// The guarded section of this thread, while one runs.
thread_local sigjmp_buf* t_guard = nullptr;
struct sigaction g_previous;

// A SIGBUS inside a guarded section jumps back to it; any other goes to
// whoever handled SIGBUS before (the default: the process ends).
void OnSigbus(int sig, siginfo_t* info, void* context) {
  if (sigjmp_buf* guard = t_guard) siglongjmp(*guard, 1);
  if (g_previous.sa_flags & SA_SIGINFO) return g_previous.sa_sigaction(sig, info, context);
  sigaction(SIGBUS, &g_previous, nullptr);  // the instruction faults again, unguarded
}

void InstallOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous);
  });
}

// Separate, so that nothing with a destructor lives between sigsetjmp and
// the code that may fault.
[[gnu::noinline]] bool Compute(uint32_t* crc, std::span<const std::byte> bytes) {
  sigjmp_buf guard;
  if (sigsetjmp(guard, 1) != 0) {
    t_guard = nullptr;
    return false;
  }
  t_guard = &guard;
  *crc = Crc32(*crc, bytes);
  t_guard = nullptr;
  return true;
}

}  // namespace

std::optional<uint32_t> GuardedCrc32(uint32_t crc, std::span<const std::byte> bytes) {
  InstallOnce();
  if (!Compute(&crc, bytes)) return std::nullopt;
  return crc;
}

}  // namespace npzfs::core
