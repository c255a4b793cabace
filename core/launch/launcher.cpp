#include "launch/launcher.h"

namespace SegScale::Launch {

Launcher::Launcher(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<LaunchedAgent>();
}

Launcher::~Launcher() = default;

QList<LaunchedAgent> Launcher::agents() const
{
    QList<LaunchedAgent> result;
    result.reserve(m_order.size());
    for (const QString &id : m_order)
        result.append(m_agents.value(id));
    return result;
}

LaunchedAgent Launcher::agent(const QString &id) const
{
    return m_agents.value(id, LaunchedAgent{QString(), QString(), 0, LaunchedAgent::State::Failed, -1, QString()});
}

void Launcher::addAgent(const LaunchedAgent &agent)
{
    m_order.append(agent.id);
    m_agents.insert(agent.id, agent);
    Q_EMIT agentStateChanged(agent);
}

void Launcher::updateAgent(const QString &id, LaunchedAgent::State state, int exitCode, const QString &detail)
{
    const auto it = m_agents.find(id);
    if (it == m_agents.end() || it->isFinished())
        return;
    if (it->state == state && it->exitCode == exitCode && it->detail == detail)
        return;
    it->state = state;
    it->exitCode = exitCode;
    it->detail = detail;
    Q_EMIT agentStateChanged(*it);
}

bool Launcher::isFinished(const QString &id) const
{
    const auto it = m_agents.constFind(id);
    return it == m_agents.constEnd() || it->isFinished();
}

} // namespace SegScale::Launch
