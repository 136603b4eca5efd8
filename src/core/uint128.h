// Uint128: the compiler's 128-bit unsigned integer, for exact products of byte counts
// (bytes × basis points, bytes × milliseconds) that overflow 64 bits. `__extension__` keeps
// -Wpedantic quiet about a type ISO C++ does not name.
#pragma once

namespace ryuryo {

__extension__ typedef unsigned __int128 Uint128;

}  // namespace ryuryo
