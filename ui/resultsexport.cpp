#include "ui/resultsexport.h"

#include "ui/studyconnection.h"

#include <QJsonObject>
#include <QSaveFile>

namespace SegScale::Ui {

ResultsExport::ResultsExport(StudyConnection *connection, QObject *parent) : QObject(parent), m_connection(connection) {}

ResultsExport::~ResultsExport() = default;

void ResultsExport::start(const QString &format, const QString &path, bool audit)
{
    if (m_file)
        m_file->cancelWriting();
    m_file = std::make_unique<QSaveFile>(path);
    m_format = format;
    m_audit = audit;
    m_path = path;
    m_done = 0;
    m_total = 0;
    ++m_generation;
    if (!m_file->open(QIODevice::WriteOnly)) {
        abort(tr("cannot write %1: %2").arg(path, m_file->errorString()));
        return;
    }
    requestPage(0);
}

void ResultsExport::cancel()
{
    if (!m_file)
        return;
    ++m_generation;
    m_file->cancelWriting();
    m_file.reset();
    Q_EMIT cancelled();
}

void ResultsExport::abort(const QString &message)
{
    if (m_file)
        m_file->cancelWriting();
    m_file.reset();
    Q_EMIT failed(message);
}

void ResultsExport::requestPage(qint64 after)
{
    const quint64 generation = m_generation;
    QJsonObject request{{QStringLiteral("type"), QStringLiteral("export")}, {QStringLiteral("format"), m_format}};
    if (m_audit)
        request.insert(QStringLiteral("audit"), true);
    if (after > 0)
        request.insert(QStringLiteral("after"), static_cast<double>(after));
    if (m_pageRows > 0)
        request.insert(QStringLiteral("limit"), m_pageRows);
    m_connection->query(request, this, [this, generation](const QJsonObject &r, const QString &error) {
        if (generation != m_generation || !m_file)
            return;  // cancelled meanwhile
        if (!error.isEmpty()) {
            abort(tr("Export: %1").arg(error));
            return;
        }
        if (r.contains(QStringLiteral("total")))
            m_total = static_cast<qint64>(r.value(QStringLiteral("total")).toDouble());
        const QByteArray csv = r.value(QStringLiteral("csv")).toString().toUtf8();
        if (m_file->write(csv) != csv.size()) {
            abort(tr("cannot write %1: %2").arg(m_path, m_file->errorString()));
            return;
        }
        m_done += static_cast<qint64>(r.value(QStringLiteral("rows")).toDouble());
        Q_EMIT progressed(m_done, m_total);
        const QJsonValue next = r.value(QStringLiteral("next"));
        if (next.isDouble()) {
            requestPage(static_cast<qint64>(next.toDouble()));
            return;
        }
        if (!m_file->commit()) {
            const QString why = m_file->errorString();
            m_file.reset();
            Q_EMIT failed(tr("cannot write %1: %2").arg(m_path, why));
            return;
        }
        m_file.reset();
        Q_EMIT finished(m_path, m_done);
    });
}

} // namespace SegScale::Ui
