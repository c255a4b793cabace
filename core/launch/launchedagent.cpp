#include "launch/launchedagent.h"

namespace SegScale::Launch {

QString stateName(LaunchedAgent::State state)
{
    switch (state) {
    case LaunchedAgent::State::Starting: return QStringLiteral("starting");
    case LaunchedAgent::State::Pending: return QStringLiteral("pending");
    case LaunchedAgent::State::Running: return QStringLiteral("running");
    case LaunchedAgent::State::Exited: return QStringLiteral("exited");
    case LaunchedAgent::State::Failed: return QStringLiteral("failed");
    case LaunchedAgent::State::Stopped: return QStringLiteral("stopped");
    }
    return QStringLiteral("unknown");
}

} // namespace SegScale::Launch
