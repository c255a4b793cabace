#pragma once
// The outcome of checking a storage connection step by step: which steps passed, which
// one failed and why, and the host key details when the host key was the problem.

#include "base/error.h"
#include "storage/connectionstep.h"
#include "storage/hostkeyproblem.h"

#include <QList>
#include <optional>

namespace SegScale::Storage {

struct ConnectionReport {
    QList<ConnectionStep> passed;
    std::optional<ConnectionStep> failedStep;
    Error error;                                // meaningful when failedStep is set
    std::optional<HostKeyProblem> hostKeyProblem; // set when failedStep is HostKey
    QString serverFingerprint;                  // once the key exchange passed
    QString authMethod;                         // once authentication passed
    // The connection dropped during the failed step: not a verdict on credentials or
    // keys, so trying again later may work.
    bool connectionLost = false;

    bool ok() const { return !failedStep.has_value(); }
};

} // namespace SegScale::Storage
