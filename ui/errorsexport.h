#pragma once
// ErrorsExport: writes the failed images of a study (those of a filter, or all) to a CSV
// file, reading them through the coordinator a page at a time (the "errors" listing,
// Protocol::kMaxPageRows rows a request), so a remote study exports like an embedded one
// and neither side holds the whole list. The rows go through Jobs::ErrorsCsv, the writer
// of `segscale study export --errors`: with no filter the file has the CLI's bytes. The
// file appears only when complete (QSaveFile). One export at a time per object.

#include <QJsonObject>
#include <QObject>
#include <QString>

#include <memory>

class QSaveFile;

namespace SegScale::Jobs {
class ErrorsCsv;
}

namespace SegScale::Ui {

class StudyConnection;

class ErrorsExport final : public QObject {
    Q_OBJECT
public:
    explicit ErrorsExport(StudyConnection *connection, QObject *parent = nullptr);
    ~ErrorsExport() override;

    // Starts writing path; false (and failed()) when it cannot start.
    bool start(const QString &path, const QJsonObject &filter = {});
    void cancel();
    bool isRunning() const { return m_file != nullptr; }
    // Rows asked for per request (Protocol::kMaxPageRows by default; tests page smaller).
    void setPageRows(int rows) { m_pageRows = rows; }

Q_SIGNALS:
    void progressed(qint64 rows);
    void finished(qint64 rows, const QString &path);
    void failed(const QString &message);

private:
    void requestNext();
    void stop(const QString &failure);

    StudyConnection *m_connection;
    QJsonObject m_filter;
    QString m_path;
    std::unique_ptr<QSaveFile> m_file;
    std::unique_ptr<Jobs::ErrorsCsv> m_csv;
    qint64 m_next = 0;
    qint64 m_rows = 0;
    int m_pageRows;
    quint64 m_generation = 0;
};

} // namespace SegScale::Ui
