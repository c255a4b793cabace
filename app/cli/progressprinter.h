#pragma once
// ProgressPrinter: the progress line on stderr — done/total, images/s, ETA, failures.
// On a terminal it rewrites one line (at most 4 times a second); into a file or pipe it
// prints a line every few seconds so logs stay readable.

#include <QElapsedTimer>
#include <QString>

namespace SegScale::Cli {

class ProgressPrinter {
public:
    explicit ProgressPrinter(qint64 total, QString what = QStringLiteral("images"));
    void update(qint64 done, qint64 failed, bool force = false);
    void finish(qint64 done, qint64 failed);

private:
    QString line(qint64 done, qint64 failed) const;

    qint64 m_total;
    QString m_what;
    QElapsedTimer m_clock;
    qint64 m_lastPrint = -1000000;
    qint64 m_lastFinished = -1;
    bool m_tty;
};

} // namespace SegScale::Cli
