import { Component, type ErrorInfo, type ReactNode } from 'react';
import { Alert } from './alert.tsx';
import { Button } from './button.tsx';

interface Props {
  /** the region's name, shown in the fallback ("Pending proposals failed to render") */
  region: string;
  children: ReactNode;
}

interface State {
  error: Error | null;
}

/** Keeps a render fault inside one region of the page; the rest keeps working. */
export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`[higgs-ui] ${this.props.region} failed to render`, error, info.componentStack);
  }

  override render(): ReactNode {
    if (this.state.error === null) return this.props.children;
    return (
      <Alert tone="error" className="flex items-center justify-between gap-3">
        <span>
          {this.props.region} failed to render: {this.state.error.message}
        </span>
        <Button size="sm" variant="outline" onClick={() => this.setState({ error: null })}>
          Retry
        </Button>
      </Alert>
    );
  }
}
