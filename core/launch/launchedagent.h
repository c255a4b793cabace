#pragma once
// One launched command as the coordinator sees it: which one, what state it is in, and
// how it ended. A value, copied into signals.

#include <QMetaType>
#include <QString>

namespace SegScale::Launch {

struct LaunchedAgent {
    enum class State {
        Starting, // asked for, not running yet
        Pending,  // queued by a batch system (Slurm), waiting for resources
        Running,
        Exited,   // ended on its own; exitCode says how
        Failed,   // could not start, crashed, was killed by someone else, or its host was lost
        Stopped,  // ended because stop() or stopAll() (or scancel) asked it to
    };

    QString id;     // unique within one launcher, e.g. "local:2", "ssh:1", "slurm:1234_0"
    QString name;   // namePrefix-index
    int index = 0;  // 0 .. count-1 within its start()
    State state = State::Starting;
    int exitCode = -1; // Exited (and Stopped when known); -1 when unknown
    QString detail; // one line: why it failed, why it is pending, where it runs

    bool isFinished() const { return state == State::Exited || state == State::Failed || state == State::Stopped; }
};

QString stateName(LaunchedAgent::State state);

} // namespace SegScale::Launch

Q_DECLARE_METATYPE(SegScale::Launch::LaunchedAgent)
