#include "ui/imageview.h"

#include <QGraphicsScene>
#include <QMouseEvent>
#include <QResizeEvent>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace SegScale::Ui {

namespace {
constexpr double kStep = 1.25;
constexpr double kMinZoom = 0.02;
constexpr double kMaxZoom = 64.0;
} // namespace

ImageView::ImageView(QWidget *parent) : QGraphicsView(parent)
{
    setDragMode(QGraphicsView::ScrollHandDrag);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    setResizeAnchor(QGraphicsView::AnchorViewCenter);
    setMouseTracking(true);
    setBackgroundBrush(palette().window());
}

void ImageView::zoomBy(double factor)
{
    m_fitted = false;
    const double target = std::clamp(zoom() * factor, kMinZoom, kMaxZoom);
    if (zoom() > 0)
        scale(target / zoom(), target / zoom());
}

void ImageView::zoomIn()
{
    // Keys zoom around the centre; the wheel around the mouse (AnchorUnderMouse).
    const auto anchor = transformationAnchor();
    setTransformationAnchor(QGraphicsView::AnchorViewCenter);
    zoomBy(kStep);
    setTransformationAnchor(anchor);
}

void ImageView::zoomOut()
{
    const auto anchor = transformationAnchor();
    setTransformationAnchor(QGraphicsView::AnchorViewCenter);
    zoomBy(1.0 / kStep);
    setTransformationAnchor(anchor);
}

void ImageView::fit()
{
    if (scene() && !scene()->sceneRect().isEmpty())
        fitInView(scene()->sceneRect(), Qt::KeepAspectRatio);
    m_fitted = true;
}

void ImageView::resizeEvent(QResizeEvent *event)
{
    QGraphicsView::resizeEvent(event);
    if (m_fitted)
        fit();
}

void ImageView::wheelEvent(QWheelEvent *event)
{
    const int delta = event->angleDelta().y();
    if (delta == 0) {
        QGraphicsView::wheelEvent(event);
        return;
    }
    zoomBy(std::pow(kStep, delta / 120.0));
    event->accept();
}

void ImageView::mouseMoveEvent(QMouseEvent *event)
{
    QGraphicsView::mouseMoveEvent(event);
    Q_EMIT hovered(mapToScene(event->position().toPoint()));
}

void ImageView::leaveEvent(QEvent *event)
{
    QGraphicsView::leaveEvent(event);
    Q_EMIT left();
}

} // namespace SegScale::Ui
