#include "ui/hostkeydialog.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace SegScale::Ui {

HostKeyDialog::HostKeyDialog(const Storage::HostKeyProblem &problem, QWidget *parent) : QDialog(parent), m_problem(problem)
{
    auto *layout = new QVBoxLayout(this);
    m_text = new QLabel(this);
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    const QString details = tr("<p>Host: <b>%1</b><br>Key type: %2<br>Fingerprint: <tt><b>%3</b></tt><br>Known hosts file: %4</p>")
                                .arg(problem.host.toHtmlEscaped(), problem.keyType.toHtmlEscaped(),
                                     problem.fingerprint.toHtmlEscaped(), problem.knownHostsPath.toHtmlEscaped());
    auto *buttons = new QDialogButtonBox(this);
    if (isChanged()) {
        setWindowTitle(tr("Host key CHANGED"));
        m_text->setText(tr("<p style='color:#c00000'><b>WARNING: the host key of %1 has changed.</b></p>"
                           "<p>Someone may be intercepting the connection (a man-in-the-middle attack), or the server "
                           "was reinstalled. SegScale will not connect, and does not replace a recorded key.</p>%2"
                           "<p>Ask the server's administrator for its key fingerprint. Only if it matches, remove the old "
                           "line for %1 from the known hosts file (<tt>ssh-keygen -R '%1' -f %3</tt>) and test again.</p>")
                            .arg(problem.host.toHtmlEscaped(), details, problem.knownHostsPath.toHtmlEscaped()));
        buttons->addButton(QDialogButtonBox::Close);
    } else {
        setWindowTitle(tr("Unknown host key"));
        m_text->setText(tr("<p><b>The server %1 is not known yet.</b></p>%2"
                           "<p>Compare the fingerprint with the one the server's administrator gives you "
                           "(<tt>ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub</tt> on the server). Trust it only if they "
                           "are the same.</p>")
                            .arg(problem.host.toHtmlEscaped(), details));
        m_trust = buttons->addButton(tr("&Trust this key"), QDialogButtonBox::AcceptRole);
        m_trust->setAutoDefault(false);
        // Enter must not trust a key: the safe answer is the default one.
        buttons->addButton(QDialogButtonBox::Cancel)->setDefault(true);
    }
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(m_text);
    layout->addWidget(buttons);
    setMinimumWidth(520);
}

QString HostKeyDialog::text() const
{
    return m_text->text();
}

} // namespace SegScale::Ui
