#include "ui/throughputchart.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QEvent>
#include <QJsonArray>
#include <QLineSeries>
#include <QMap>
#include <QValueAxis>
#include <QVBoxLayout>

namespace SegScale::Ui {

struct ThroughputChart::Parts {
    QChart *chart = nullptr;
    QChartView *view = nullptr;
    QLineSeries *series = nullptr;
    QDateTimeAxis *time = nullptr;
    QValueAxis *count = nullptr;
};

ThroughputChart::ThroughputChart(QWidget *parent) : QWidget(parent), m_parts(new Parts)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_parts->chart = new QChart;
    m_parts->chart->legend()->hide();
    m_parts->chart->setMargins(QMargins(4, 4, 4, 4));
    m_parts->series = new QLineSeries(m_parts->chart);
    m_parts->chart->addSeries(m_parts->series);
    m_parts->time = new QDateTimeAxis(m_parts->chart);
    m_parts->time->setFormat(QStringLiteral("HH:mm"));
    m_parts->time->setTitleText(tr("time"));
    m_parts->count = new QValueAxis(m_parts->chart);
    m_parts->count->setLabelFormat(QStringLiteral("%d"));
    m_parts->count->setTitleText(tr("images/min"));
    m_parts->chart->addAxis(m_parts->time, Qt::AlignBottom);
    m_parts->chart->addAxis(m_parts->count, Qt::AlignLeft);
    m_parts->series->attachAxis(m_parts->time);
    m_parts->series->attachAxis(m_parts->count);
    m_parts->view = new QChartView(m_parts->chart, this);
    m_parts->view->setRenderHint(QPainter::Antialiasing);
    m_parts->view->setMinimumHeight(110);
    layout->addWidget(m_parts->view);
    applyPalette();
    clear();
}

ThroughputChart::~ThroughputChart()
{
    delete m_parts;  // the widgets are children; only the struct is ours
}

void ThroughputChart::applyPalette()
{
    const QPalette p = palette();
    m_parts->chart->setBackgroundBrush(p.brush(QPalette::Base));
    m_parts->chart->setPlotAreaBackgroundVisible(false);
    m_parts->view->setBackgroundBrush(p.brush(QPalette::Window));
    for (QAbstractAxis *axis : {static_cast<QAbstractAxis *>(m_parts->time), static_cast<QAbstractAxis *>(m_parts->count)}) {
        axis->setLabelsBrush(p.brush(QPalette::Text));
        axis->setTitleBrush(p.brush(QPalette::Text));
        axis->setLinePenColor(p.color(QPalette::Mid));
        axis->setGridLineColor(p.color(QPalette::Midlight));
    }
    QPen pen(p.color(QPalette::Highlight));
    pen.setWidthF(2);
    m_parts->series->setPen(pen);
}

void ThroughputChart::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange)
        applyPalette();
    QWidget::changeEvent(event);
}

void ThroughputChart::clear()
{
    m_parts->series->clear();
    m_peak = 0;
    const QDateTime now = QDateTime::currentDateTime();
    m_parts->time->setRange(now.addSecs(-3600), now);
    m_parts->count->setRange(0, 10);
}

void ThroughputChart::setThroughput(const QJsonObject &t)
{
    const qint64 bucketMs = static_cast<qint64>(t.value(QStringLiteral("bucket_ms")).toDouble());
    const qint64 now = static_cast<qint64>(t.value(QStringLiteral("now")).toDouble());
    const QJsonArray buckets = t.value(QStringLiteral("buckets")).toArray();
    if (bucketMs <= 0 || buckets.isEmpty()) {
        clear();
        return;
    }
    QMap<qint64, double> counts;
    for (const QJsonValue &b : buckets) {
        const QJsonArray pair = b.toArray();
        counts.insert(static_cast<qint64>(pair.at(0).toDouble()), pair.at(1).toDouble());
    }
    // Per minute whatever the bucket, so the axis reads the same as the rate beside it.
    const double perMinute = 60000.0 / static_cast<double>(bucketMs);
    QList<QPointF> points;
    m_peak = 0;
    const qint64 last = now - now % bucketMs;
    for (qint64 start = counts.firstKey(); start <= last; start += bucketMs) {
        const double v = counts.value(start, 0.0) * perMinute;
        m_peak = std::max(m_peak, v);
        points.append(QPointF(static_cast<double>(start), v));
    }
    m_parts->series->replace(points);
    m_parts->time->setRange(QDateTime::fromMSecsSinceEpoch(counts.firstKey()), QDateTime::fromMSecsSinceEpoch(std::max(now, counts.firstKey() + bucketMs)));
    const qint64 span = now - counts.firstKey();
    m_parts->time->setFormat(span > 86'400'000 ? QStringLiteral("dd HH:mm") : span < 600'000 ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm"));
    m_parts->count->setRange(0, std::max(1.0, m_peak * 1.1));
    m_parts->count->applyNiceNumbers();
}

int ThroughputChart::pointCount() const
{
    return static_cast<int>(m_parts->series->count());
}

} // namespace SegScale::Ui
