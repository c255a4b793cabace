#pragma once
// ThroughputChart: images finished per bucket (the coordinator's "throughput" reply) as
// a line over time. The one file that uses Qt Charts, which is deprecated from Qt 6.10
// on: replacing it means replacing this file only. Follows the palette (light or dark).

#include <QJsonObject>
#include <QWidget>

namespace SegScale::Ui {

class ThroughputChart final : public QWidget {
    Q_OBJECT
public:
    explicit ThroughputChart(QWidget *parent = nullptr);
    ~ThroughputChart() override;

    // {"now", "bucket_ms", "buckets": [[start_ms, finished], ...]}: a point per bucket from
    // the first bucket to now, with 0 where nothing finished.
    void setThroughput(const QJsonObject &throughput);
    void clear();
    // Points shown, and the largest value, for tests.
    int pointCount() const;
    double peak() const { return m_peak; }

protected:
    void changeEvent(QEvent *event) override;

private:
    struct Parts;
    void applyPalette();
    Parts *m_parts;
    double m_peak = 0;
};

} // namespace SegScale::Ui
