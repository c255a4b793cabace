#include "cluster/coordinatorthread.h"

namespace SegScale::Cluster {

CoordinatorThread::CoordinatorThread(CoordinatorOptions options) : m_coordinator(new Coordinator(std::move(options)))
{
    m_thread.setObjectName(QStringLiteral("coordinator"));
    m_coordinator->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_coordinator, &QObject::deleteLater);
}

CoordinatorThread::~CoordinatorThread()
{
    if (m_thread.isRunning()) {
        call([](Coordinator &c) { c.flush(); });
        m_thread.quit();
        m_thread.wait();
    } else {
        delete m_coordinator;
    }
}

Result<void> CoordinatorThread::start()
{
    m_thread.start();
    Result<void> opened;
    call([&](Coordinator &c) { opened = c.open(); });
    return opened;
}

void CoordinatorThread::call(const std::function<void(Coordinator &)> &f) const
{
    Coordinator *c = m_coordinator;
    QMetaObject::invokeMethod(c, [c, &f] { f(*c); }, Qt::BlockingQueuedConnection);
}

void CoordinatorThread::post(std::function<void(Coordinator &)> f) const
{
    Coordinator *c = m_coordinator;
    QMetaObject::invokeMethod(c, [c, f = std::move(f)] { f(*c); }, Qt::QueuedConnection);
}

} // namespace SegScale::Cluster
