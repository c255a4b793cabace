#pragma once
// Protocol: the coordinator's versioned JSON messages, one object per WebSocket text
// frame (or per in-process call). This file is the one place that knows their names,
// fields and limits; parse() is the only way a message from outside gets in, so every
// byte an agent or an admin client sends passes its checks first (fuzzed by
// tests/fuzz/fuzz_protocol.cpp).
//
// Every message is {"type": T, ...}; a request may carry "id" (an integer the reply
// echoes). The version is negotiated once, at hello: a client speaking another major
// version is refused with an error naming both versions.
//
//   agent -> coordinator       coordinator -> agent
//   hello                      welcome | error (then close)
//   lease {n}                  grant {images[]} | wait {seconds} | done
//   heartbeat {leases, stats}  (renews leases; no reply unless something changed)
//   result {image, lease, …}   ack {image, outcome}
//   failure {image, lease, …}  ack {image, outcome}
//   release {images[]}         (leases handed back unstarted: no attempt counted)
//   model-chunk {offset}       model-data {offset, data(base64), eof}
//   check {index}              check-image {index, count, image, labels (base64)}
//   check-result {passed, …}   (an agent that failed is refused work and told why)
//   bye                        (then close)
//                              drain | stop (pushed at any time)
//   admin -> coordinator: summary, workers, results {sort, order, where[], dataset},
//   composition, export {format, after}, image {image, part, offset}, errors,
//   error-facets, retry, drain, stop, subscribe, launch, launched, stop-launched,
//   datasets (per-dataset counts by state), throughput {minutes, bucket_seconds} (images
//   finished per bucket), audit-sample, audit-mark, audit-marks, audit-summary; replies
//   carry the same "id";
//   "changed" is pushed to subscribers.

#include "base/result.h"

#include <QByteArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

namespace SegScale::Cluster {

class Protocol {
public:
    static constexpr int kVersion = 1;
    // A text frame larger than this closes the connection: a result of 1,000 classes is
    // ~20 KB; a model chunk is kModelChunkBytes base64 plus a little.
    static constexpr qint64 kMaxMessageBytes = 4 * 1024 * 1024;
    static constexpr qint64 kModelChunkBytes = 1024 * 1024;
    static constexpr int kMaxLeaseBatch = 1024;
    static constexpr int kMaxPageRows = 1000;
    static constexpr int kMaxClasses = 65536;
    static constexpr int kMaxListItems = 100000;
    static constexpr int kMaxAuditSample = 1000;  // k of an audit sample

    enum class Role { None, Agent, Admin };

    // Checks size, JSON syntax, the type and every field the type needs (name, JSON type,
    // range). A message that fails is a Usage error whose text can be sent back as is.
    // `role` decides which types are allowed: an agent cannot send admin messages.
    static Result<QJsonObject> parse(const QByteArray &frame, Role role);
    // The same checks on an object that never was text (the in-process transport).
    static Result<void> validate(const QJsonObject &message, Role role);

    static QByteArray serialize(const QJsonObject &message);

    // Replies and pushes, built in one place so both sides agree on field names.
    static QJsonObject error(const QString &code, const QString &message, const QJsonValue &id = {});
    static QString roleName(Role role);
    // Lease ids travel as strings ("lease": "4611686018427387905"); 0 when not one.
    static qint64 leaseId(const QJsonValue &v);
    static QJsonValue leaseIdValue(qint64 id);
};

} // namespace SegScale::Cluster
