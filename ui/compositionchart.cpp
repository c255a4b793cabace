#include "ui/compositionchart.h"

#include <QBarCategoryAxis>
#include <QBarLegendMarker>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QHorizontalStackedBarSeries>
#include <QLegendMarker>
#include <QValueAxis>
#include <QVBoxLayout>

#include <cmath>

namespace SegScale::Ui {

CompositionChart::CompositionChart(QWidget *parent) : QWidget(parent), m_view(new QChartView)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *view = static_cast<QChartView *>(m_view);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumHeight(160);
    layout->addWidget(view);
    setData({}, {}, {});
}

CompositionChart::~CompositionChart() = default;

void CompositionChart::setData(const QStringList &classes, const QList<QColor> &palette, const QList<Dataset> &datasets)
{
    m_datasets = datasets;
    auto *chart = new QChart;
    chart->setTitle(datasets.isEmpty() ? tr("Mean composition per dataset (no results yet)") : tr("Mean composition per dataset"));
    chart->setAnimationOptions(QChart::NoAnimation);
    // Follow the desktop's palette rather than the chart's own light theme.
    chart->setBackgroundBrush(this->palette().base());
    chart->setTitleBrush(this->palette().text());
    chart->legend()->setLabelBrush(this->palette().text());
    auto *series = new QHorizontalStackedBarSeries;
    QStringList categories;
    for (const Dataset &d : datasets)
        categories << tr("%1 (%2)").arg(d.name).arg(d.results);
    for (qsizetype c = 0; c < classes.size(); ++c) {
        auto *set = new QBarSet(classes[c]);
        bool visible = false;
        for (const Dataset &d : datasets) {
            const double v = c < d.means.size() && std::isfinite(d.means[c]) ? d.means[c] * 100.0 : 0.0;
            *set << v;
            visible = visible || v >= 0.5;
        }
        if (c < palette.size())
            set->setColor(palette[c]);
        set->setBorderColor(Qt::transparent);
        series->append(set);
        if (!visible)
            set->setProperty("segscaleHidden", true);
    }
    chart->addSeries(series);
    auto *axisY = new QBarCategoryAxis;
    axisY->append(categories);
    axisY->setLabelsBrush(this->palette().text());
    chart->addAxis(axisY, Qt::AlignLeft);
    series->attachAxis(axisY);
    auto *axisX = new QValueAxis;
    axisX->setRange(0, 100);
    axisX->setLabelFormat(QStringLiteral("%d %"));
    axisX->setLabelsBrush(this->palette().text());
    chart->addAxis(axisX, Qt::AlignBottom);
    series->attachAxis(axisX);
    chart->legend()->setAlignment(Qt::AlignRight);
    const auto markers = chart->legend()->markers(series);
    for (QLegendMarker *marker : markers) {
        auto *barMarker = qobject_cast<QBarLegendMarker *>(marker);
        if (barMarker && barMarker->barset()->property("segscaleHidden").toBool())
            marker->setVisible(false);
    }
    auto *view = static_cast<QChartView *>(m_view);
    QChart *old = view->chart();
    view->setChart(chart);
    delete old;
}

} // namespace SegScale::Ui
