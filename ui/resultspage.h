#pragma once
// ResultsPage: the Results tab — the results table (ResultsModel: image, dataset, size,
// one column per class in %), sorted by a click on a class header and filtered by a bar
// (class, > or <, percent; several conditions; a dataset), all of it done by the
// coordinator's SQL and paged as the table scrolls; the mean composition per dataset as
// a chart; CSV export (wide, long) with a cancellable progress dialog; and the image
// viewer, opened by a double click, stepping through the table's order with
// PageDown/PageUp.

#include <QColor>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QList>
#include <QPointer>
#include <QStringList>
#include <QWidget>

#include <optional>

class QAction;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QTableView;

namespace SegScale::Ui {

class CompositionChart;
class ImageViewer;
class ResultsExport;
class ResultsModel;
class StudyConnection;

class ResultsPage final : public QWidget {
    Q_OBJECT
public:
    ResultsPage(StudyConnection *connection, ResultsModel *model, QTableView *view, QWidget *parent = nullptr);
    ~ResultsPage() override;

    // The filter bar's actions, callable from code (tests, shortcuts).
    void addCondition(const QString &className, bool greater, double percent);
    void clearConditions();
    void setDataset(std::optional<qint64> datasetId);
    // Asks for the per-dataset means again (done on connect and, at most every 5 s, on
    // changes); compositionLoaded() follows.
    void refreshComposition();
    // Saves the composition CSV ("wide" or "long") to path with a progress dialog;
    // exportFinished() or exportFailed() follows.
    // audit: with the audit marks (columns audit, audit_note), as `study export --audit`.
    void exportCsv(const QString &format, const QString &path, bool audit = false);
    // Opens (or reuses) the viewer on a row of the table; nullptr when there is none.
    ImageViewer *openViewer(int row);
    ImageViewer *viewer() const { return m_viewer; }
    CompositionChart *chart() const { return m_chart; }
    ResultsExport *exporter() const { return m_export; }
    QStringList classes() const { return m_classes; }
    QList<QColor> palette() const { return m_palette; }
    // The composition reply's datasets (id, root, results, means).
    QJsonObject composition() const { return m_composition; }

Q_SIGNALS:
    void compositionLoaded();
    void exportFinished(const QString &path, qint64 images);
    void exportFailed(const QString &message);

private:
    void applyFilter();
    void onComposition(const QJsonObject &reply);
    void step(int delta);
    void chooseExport(const QString &format);
    QAction *m_auditColumns = nullptr;

    StudyConnection *m_connection;
    ResultsModel *m_model;
    QTableView *m_view;
    CompositionChart *m_chart;
    ResultsExport *m_export;
    QComboBox *m_class;
    QComboBox *m_op;
    QDoubleSpinBox *m_percent;
    QLabel *m_conditionsLabel;
    QComboBox *m_dataset;
    QPointer<ImageViewer> m_viewer;
    int m_viewerRow = -1;
    QStringList m_conditions;
    QStringList m_classes;
    QList<QColor> m_palette;
    QJsonObject m_composition;
    QElapsedTimer m_lastComposition;
    bool m_compositionInFlight = false;
};

} // namespace SegScale::Ui
