// How a RADIUS request names its line (DESIGN §4 [radius].line_keys), shared by the accounting
// and authorization servers.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/meter.h"
#include "radius/packet.h"
#include "radius/policy.h"

namespace ryuryo::ingest {

// Where a line's identity is found in a request.
enum class LineKeyAttr : uint8_t { kImsi, kCallingStationId, kUserName };
// "3gpp-imsi", "calling-station-id", "user-name".
bool ParseLineKeyAttr(std::string_view name, LineKeyAttr* attr);
const char* LineKeyAttrName(LineKeyAttr attr);

// A candidate longer than this, or with bytes outside printable ASCII, is ignored.
inline constexpr size_t kLineCandidateBytesMax = 64;

// The meter keys (radius attribute -> "imsi:…", "msisdn:…", a line id) a request names, in the
// order of `keys`: 3GPP-IMSI (vendor 10415 type 1) as "imsi:"; Calling-Station-Id as "msisdn:";
// User-Name as a line id (when it is a valid one), then the part before any '@' as "imsi:" and
// "msisdn:". The first that names a known line is the request's line.
std::vector<std::string> LineCandidates(const radius::Packet& packet,
                                        const std::vector<LineKeyAttr>& keys);

// The first candidate naming a line of `meter`, or nullptr.
const Line* ResolveLine(const Meter& meter, const std::vector<std::string>& candidates);

// What the RADIUS policy needs to know of a line at `now`.
radius::LineFacts FactsOf(const Meter& meter, const Line& line, Millis now);

}  // namespace ryuryo::ingest
