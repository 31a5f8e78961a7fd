import { Button, Result } from 'antd';
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { useI18n } from '../i18n/context';

interface State {
  failed: boolean;
}

/**
 * ViewErrorBoundary keeps the layout usable when a view fails to load or
 * render: typically a lazy chunk that no longer exists after an upgrade.
 * `resetKey` (the location) clears the failure on navigation.
 */
export class ViewErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, State> {
  override state: State = { failed: false };
  private failedAt = '';

  static getDerivedStateFromError(): State {
    return { failed: true };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    this.failedAt = this.props.resetKey;
    console.error('console view failed', error, info.componentStack);
  }

  override componentDidUpdate(): void {
    if (this.state.failed && this.failedAt !== '' && this.failedAt !== this.props.resetKey) {
      this.failedAt = '';
      this.setState({ failed: false });
    }
  }

  override render() {
    return this.state.failed ? <ViewFailed /> : this.props.children;
  }
}

function ViewFailed() {
  const { t } = useI18n();
  return (
    <Result
      status="warning"
      title={t('errors.title')}
      subTitle={t('errors.chunk')}
      extra={
        <Button type="primary" onClick={() => window.location.reload()}>
          {t('common.reload')}
        </Button>
      }
    />
  );
}
