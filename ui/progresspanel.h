#pragma once
// ProgressPanel: the study at a glance from the coordinator's summary — one bar for
// finished images (done + failed of all), the count in each state, the measured rate, the
// ETA and the most frequent error categories; one bar per dataset (DatasetProgressModel),
// images finished per minute over the last hours (ThroughputChart) and a "what if N more
// agents" estimate scaled from the measured per-agent rate. Shows; decides nothing.

#include <QJsonArray>
#include <QJsonObject>
#include <QWidget>

class QLabel;
class QProgressBar;
class QSpinBox;
class QSplitter;
class QTableView;

namespace SegScale::Ui {

class DatasetProgressModel;
class ThroughputChart;

class ProgressPanel final : public QWidget {
    Q_OBJECT
public:
    explicit ProgressPanel(QWidget *parent = nullptr);

    void setSummary(const QJsonObject &summary);
    void setDatasets(const QJsonArray &datasets);
    void setThroughput(const QJsonObject &throughput);
    void clear();
    DatasetProgressModel *datasetsModel() const { return m_datasets; }
    QTableView *datasetsView() const { return m_datasetsView; }
    ThroughputChart *chart() const { return m_chart; }
    QSplitter *splitter() const { return m_splitter; }
    QSpinBox *moreAgents() const { return m_moreAgents; }
    QString whatIfText() const;
    // 0..100, for the window title and tests.
    int percent() const;
    QString etaText() const;
    QString errorsText() const;

private:
    QLabel *m_title;
    QProgressBar *m_bar;
    QLabel *m_pending;
    QLabel *m_leased;
    QLabel *m_done;
    QLabel *m_failed;
    QLabel *m_total;
    QLabel *m_rate;
    QLabel *m_eta;
    QLabel *m_agents;
    QLabel *m_errors;
    QSpinBox *m_moreAgents;
    QLabel *m_whatIf;
    DatasetProgressModel *m_datasets;
    QTableView *m_datasetsView;
    ThroughputChart *m_chart;
    QSplitter *m_splitter;
    QJsonObject m_summary;
    void updateWhatIf();
};

} // namespace SegScale::Ui
