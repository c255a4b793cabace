#include "ui/errorsexport.h"

#include "cluster/protocol.h"
#include "jobs/errorscsv.h"
#include "ui/studyconnection.h"

#include <QJsonArray>
#include <QSaveFile>

namespace SegScale::Ui {

ErrorsExport::ErrorsExport(StudyConnection *connection, QObject *parent)
    : QObject(parent), m_connection(connection), m_pageRows(Cluster::Protocol::kMaxPageRows)
{
}

ErrorsExport::~ErrorsExport()
{
    cancel();
}

bool ErrorsExport::start(const QString &path, const QJsonObject &filter)
{
    cancel();
    if (!m_connection->isConnected()) {
        Q_EMIT failed(tr("Export errors: not connected to a coordinator"));
        return false;
    }
    auto file = std::make_unique<QSaveFile>(path);
    if (!file->open(QIODevice::WriteOnly)) {
        Q_EMIT failed(tr("cannot write %1: %2").arg(path, file->errorString()));
        return false;
    }
    m_file = std::move(file);
    m_csv = std::make_unique<Jobs::ErrorsCsv>(m_file.get());
    m_path = path;
    m_filter = filter;
    m_next = 0;
    m_rows = 0;
    requestNext();
    return true;
}

void ErrorsExport::cancel()
{
    ++m_generation;
    m_csv.reset();
    if (m_file) {
        m_file->cancelWriting();
        m_file.reset();
    }
}

void ErrorsExport::stop(const QString &failure)
{
    cancel();
    Q_EMIT failed(failure);
}

void ErrorsExport::requestNext()
{
    if (!m_connection->isConnected()) {
        stop(tr("Export errors to %1: the connection to the coordinator was lost").arg(m_path));
        return;
    }
    const quint64 generation = m_generation;
    QJsonObject request = m_filter;
    request.insert(QStringLiteral("type"), QStringLiteral("errors"));
    request.insert(QStringLiteral("after"), static_cast<double>(m_next));
    request.insert(QStringLiteral("limit"), m_pageRows);
    m_connection->ask(
        tr("Export errors to %1").arg(m_path), request, this,
        [this, generation](const QJsonObject &reply) {
            if (generation != m_generation || !m_csv)
                return;
            const QJsonArray rows = reply.value(QStringLiteral("rows")).toArray();
            for (const auto &v : rows) {
                const QJsonObject r = v.toObject();
                m_csv->add(r.value(QStringLiteral("location")).toString(), r.value(QStringLiteral("category")).toString(),
                           r.value(QStringLiteral("message")).toString());
            }
            m_rows += rows.size();
            if (!m_csv->ok()) {
                stop(tr("cannot write %1: %2").arg(m_path, m_file->errorString()));
                return;
            }
            Q_EMIT progressed(m_rows);
            if (const QJsonValue next = reply.value(QStringLiteral("next")); next.isDouble()) {
                m_next = static_cast<qint64>(next.toDouble());
                requestNext();
                return;
            }
            const bool ok = m_csv->flush();
            m_csv.reset();
            if (!ok || !m_file->commit()) {
                const QString why = m_file->errorString();
                m_file.reset();
                Q_EMIT failed(tr("cannot write %1: %2").arg(m_path, why));
                return;
            }
            m_file.reset();
            Q_EMIT finished(m_rows, m_path);
        },
        [this, generation](const QString &message) {
            // Nothing half-written is left behind; the connection reported the reason.
            if (generation == m_generation && m_file)
                stop(message);
        });
}

} // namespace SegScale::Ui
