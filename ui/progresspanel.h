#pragma once
// ProgressPanel: the study at a glance from the coordinator's summary — one bar for
// finished images (done + failed of all), the count in each state, the measured rate, the
// ETA and the most frequent error categories. Shows; decides nothing.

#include <QJsonObject>
#include <QWidget>

class QLabel;
class QProgressBar;

namespace SegScale::Ui {

class ProgressPanel final : public QWidget {
    Q_OBJECT
public:
    explicit ProgressPanel(QWidget *parent = nullptr);

    void setSummary(const QJsonObject &summary);
    void clear();
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
};

} // namespace SegScale::Ui
