import { UploadOutlined } from '@ant-design/icons';
import { Button } from 'antd';
import { useRef } from 'react';

interface FileTextButtonProps {
  label: string;
  /** File types offered by the picker, such as ".yaml,.yml,.json". */
  accept: string;
  onText: (text: string, fileName: string) => void;
}

/** FileTextButton opens a local text file and hands its content over; nothing is uploaded. */
export function FileTextButton({ label, accept, onText }: FileTextButtonProps) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <Button icon={<UploadOutlined />} onClick={() => input.current?.click()}>
        {label}
      </Button>
      <input
        ref={input}
        type="file"
        accept={accept}
        // Not the hidden attribute: antd forms display file inputs as blocks.
        style={{ display: 'none' }}
        aria-label={label}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) void file.text().then((text) => onText(text, file.name));
        }}
      />
    </>
  );
}
