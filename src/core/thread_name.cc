#include "core/thread_name.h"

#include <pthread.h>

#include <string>

namespace ryuryo {

void SetThreadName(std::string_view name) {
  constexpr size_t kNameBytesMax = 15;  // the kernel's TASK_COMM_LEN, less the terminating 0
  const std::string cut(name.substr(0, kNameBytesMax));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace ryuryo
