// The JSON views of lines, pools, buckets and usage that the routes, the live stream and the
// export share (DESIGN §4: the field names are a contract). Call under the ledger's read lock.
#pragma once

#include <nlohmann/json.hpp>

#include "core/meter.h"
#include "store/store.h"

namespace ryuryo::api {

using json = nlohmann::json;

// GET /v1/lines/{id}: plan, identifiers, time zone, locale, pool.
json LineJson(const Meter& m, const Line& l);
// GET /v1/pools/{id}.
json PoolJson(const Meter& m, const Pool& p);
// A top-up or rollover bucket, times in the balance's zone.
json BucketJson(const Zone& z, const Bucket& k);
// GET /v1/lines/{id}/usage: used, remaining, buckets, cycle, state, forecast, as_of.
json UsageJson(const Meter& m, const Line& l, Millis now);
// One entry of GET /v1/lines/{id}/audit.
json AuditJson(const Zone& zone, const store::AuditEntry& e);
// GET /v1/lines/{id}/alerts: {"line", "thresholds", "inherited"}.
json ThresholdsJson(const Line& l, const Balance& b);

}  // namespace ryuryo::api
