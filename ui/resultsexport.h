#pragma once
// ResultsExport: saves the study's composition CSV (wide or long) from wherever the
// coordinator runs — a page of CSV text at a time through the admin "export" message,
// formatted on the coordinator by the very StudyExporter code behind `segscale study
// export`, so the file has the same bytes. Pages are appended to a QSaveFile (a temporary
// file renamed over the target at the end), so a cancelled or failed export leaves no
// half-written file behind. Asynchronous: nothing blocks the GUI thread.

#include <QObject>
#include <QString>

#include <memory>

class QSaveFile;

namespace SegScale::Ui {

class StudyConnection;

class ResultsExport final : public QObject {
    Q_OBJECT
public:
    explicit ResultsExport(StudyConnection *connection, QObject *parent = nullptr);
    ~ResultsExport() override;

    // format: "wide" or "long". finished() or failed() follows (failed() also at once
    // when the file cannot be created).
    // audit: the audit marks as two more columns (`segscale study export --audit`).
    void start(const QString &format, const QString &path, bool audit = false);
    // Stops after the page in flight; the target file is left as it was.
    void cancel();
    bool isRunning() const { return m_file != nullptr; }
    // Images per page (0: the coordinator's default); tests use small pages.
    void setPageRows(int rows) { m_pageRows = rows; }

Q_SIGNALS:
    void progressed(qint64 images, qint64 total);
    void finished(const QString &path, qint64 images);
    void failed(const QString &message);
    void cancelled();

private:
    void requestPage(qint64 after);
    void abort(const QString &message);

    StudyConnection *m_connection;
    std::unique_ptr<QSaveFile> m_file;
    QString m_format;
    bool m_audit = false;
    QString m_path;
    qint64 m_done = 0;
    qint64 m_total = 0;
    int m_pageRows = 0;
    quint64 m_generation = 0;
};

} // namespace SegScale::Ui
