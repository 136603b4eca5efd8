// Names the calling thread, so that `top -H`, `ps -L`, perf and debuggers tell the server's
// threads apart ("ryuryo-ledger", "ryuryo-live", ...). Linux keeps at most 15 characters; a
// longer name is cut. Failure is ignored: a name is a convenience.
#pragma once

#include <string_view>

namespace ryuryo {

void SetThreadName(std::string_view name);

}  // namespace ryuryo
